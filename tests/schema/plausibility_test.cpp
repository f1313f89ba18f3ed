// check_plausible() against hand-made schemas, check_pack_voltage() at its edges.
#include <cmath>

#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::schema;

namespace {

const char* kRows =
    "block: 9000\nname: TEST\nstate_topic: test\nread: 6\nmin_len: 2\n"
    "fields:\n"
    "  - {key: freq, offset: 0, type: u16, scale: 0.1, unit: Hz, valid: [40, 70], valid_zero: true}\n"
    "  - {key: temp, offset: 2, type: temp40, unit: °C, valid: [-40, 100]}\n"
    "  - {key: free, offset: 4, type: u16}\n"
    "  - {key: power, offset: 6, type: i16, unit: W, device_class: power, valid: [-100000, 100000]}\n"
    "  - {key: grid, offset: 8, type: u16, unit: W, device_class: power}\n"
    "  - {key: bitmap, offset: 10, type: bits16}\n"
    "  - {key: limit, offset: 12, type: u16, unit: W, device_class: power, entity: control}\n";

BlockSchema test_schema() {
    auto s = parse_schema(kRows, "t.yaml");
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    return std::move(*s);
}

std::optional<Implausible> check(const BlockSchema& s, const char* hex) {
    auto d = decode(s, test::hex(hex));
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    return check_plausible(s, *d);
}

}  // namespace

TEST_CASE("check_plausible: in range, 0 where valid_zero says so, no range, absent values") {
    const BlockSchema s = test_schema();
    CHECK_FALSE(check(s, "01F4 0041 FFFF FF9C 0000 FFFF").has_value());  // 50.0 Hz, 25 °C, -100 W
    CHECK_FALSE(check(s, "0000 0041").has_value());                      // 0 Hz: valid_zero; the rest absent (short reply)
    CHECK_FALSE(check(s, "0190 0000").has_value());                      // 40.0 Hz (inclusive); temp raw 0 = absent
    CHECK_FALSE(check(s, "02BC 008C").has_value());                      // 70.0 Hz and 100 °C: both ends inclusive
}

TEST_CASE("check_plausible: the first value outside its range, with its key, value and range") {
    const BlockSchema s = test_schema();
    auto f = check(s, "0001 0041 0000 0000");  // 0.1 Hz: neither 40–70 nor 0
    REQUIRE(f.has_value());
    CHECK(f->block == 9000);
    CHECK(f->key == "freq");
    CHECK(f->value == doctest::Approx(0.1));
    CHECK(f->min == 40);
    CHECK(f->max == 70);
    CHECK(f->zero);
    CHECK(to_string(*f) == "block 9000: freq = 0.1 Hz is outside its plausible range 40 … 70 Hz (or 0)");

    f = check(s, "FFFF 00FF");  // both out of range: the first in schema order is reported
    REQUIRE(f.has_value());
    CHECK(f->key == "freq");

    f = check(s, "01F4 00FF");  // 215 °C
    REQUIRE(f.has_value());
    CHECK(f->key == "temp");
    CHECK(f->value == 215);
    CHECK(to_string(*f) == "block 9000: temp = 215 °C is outside its plausible range -40 … 100 °C");
}

TEST_CASE("check_plausible: 32-bit nonsense of a wrong block in a power row") {
    auto s = parse_schema(
        "block: 1400\nname: T\nstate_topic: t\nread: 2\nmin_len: 4\n"
        "fields:\n  - {key: dc_load_power, offset: 0, type: u32ws, unit: W, device_class: power, valid: [0, 100000]}\n",
        "t.yaml");
    REQUIRE(s.ok());
    const auto f = check(*s, "4274 3232");  // 0x32324274 = 842154612
    REQUIRE(f.has_value());
    CHECK(to_string(*f) == "block 1400: dc_load_power = 842154612 W is outside its plausible range 0 … 100000 W");
}

TEST_CASE("check_pack_voltage: consistent, scale suspect or inconsistent") {
    struct Row {
        const char* name;
        double pack, cells;
        PackVoltageCheck expected;
    };
    const double nan = std::nan("");
    const Row rows[] = {
        {"the live AP300 at 0.01 V", 53.13, 53.17, PackVoltageCheck::consistent},
        {"the same pack read at 0.1 V", 531.3, 53.17, PackVoltageCheck::scale_suspect},
        {"a 0.1 V device read at 0.01 V", 5.313, 53.17, PackVoltageCheck::scale_suspect},
        {"+13 %", 60.0, 53.0, PackVoltageCheck::consistent},
        {"+17 %", 62.0, 53.0, PackVoltageCheck::inconsistent},
        {"-14.9 %", 45.1, 53.0, PackVoltageCheck::consistent},
        {"-15.1 %", 45.0, 53.0, PackVoltageCheck::inconsistent},
        {"no pack voltage", 0.0, 53.0, PackVoltageCheck::inconsistent},
        {"no cells", 53.0, 0.0, PackVoltageCheck::inconsistent},
        {"a negative sum", 53.0, -1.0, PackVoltageCheck::inconsistent},
        {"NaN cells", 53.0, nan, PackVoltageCheck::inconsistent},
        {"NaN pack", nan, 53.0, PackVoltageCheck::inconsistent},
    };
    for (const Row& r : rows) {
        CAPTURE(r.name);
        CHECK(check_pack_voltage(r.pack, r.cells) == r.expected);
    }
    CHECK(to_string(PackVoltageCheck::scale_suspect) == "scale_suspect");
}
