#include "bluetti/natural_order.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using bluetti::natural_less;

TEST_CASE("natural_less orders digit runs as numbers") {
    CHECK(natural_less("cell2", "cell10"));
    CHECK_FALSE(natural_less("cell10", "cell2"));
    CHECK(natural_less("battery_pack1_cell10_voltage", "battery_pack2_cell1_voltage"));
    CHECK(natural_less("battery_pack2_cell9_voltage", "battery_pack10_cell1_voltage"));
    CHECK(natural_less("cell", "cell1"));
    CHECK(natural_less("cell1", "cell1_voltage"));
    CHECK(natural_less("1", "01"));    // equal numbers: fewer leading zeros first
    CHECK(natural_less("01", "2"));    // leading zeros do not make a number bigger
    CHECK(natural_less("a-1", "a1"));  // '-' sorts before digits, as in byte order
    CHECK(natural_less("a1", "ab"));
}

TEST_CASE("natural_less is a strict order: sorting and std::map keys") {
    const std::vector<std::string> sorted = {"cell",   "cell0",   "cell1",  "cell01",  "cell2", "cell9",
                                             "cell10", "cell10b", "cell11", "cell100", "cellx"};
    std::vector<std::string> shuffled = {sorted[7], sorted[2], sorted[10], sorted[0], sorted[5], sorted[9],
                                         sorted[3], sorted[1], sorted[8],  sorted[6], sorted[4]};
    std::sort(shuffled.begin(), shuffled.end(), natural_less);
    CHECK(shuffled == sorted);
    for (const auto& a : sorted) {
        CHECK_FALSE(natural_less(a, a));
        for (const auto& b : sorted)
            if (a != b) CHECK(natural_less(a, b) != natural_less(b, a));  // distinct strings never tie
    }
    std::map<std::string, int, bluetti::NaturalLess> keyed;
    for (std::size_t i = 0; i < shuffled.size(); ++i) keyed[shuffled[i]] = static_cast<int>(i);
    REQUIRE(keyed.size() == sorted.size());
    CHECK(std::equal(keyed.begin(), keyed.end(), sorted.begin(), [](const auto& kv, const std::string& s) { return kv.first == s; }));
}
