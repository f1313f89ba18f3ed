// Energy counters (state_class total_increasing) never go backwards because of a glitch
// (ha-discovery.md §9): a lower value is held back and the last published value kept, until the
// next read confirms the decrease (a genuine device reset), which is then accepted and logged.
// The last published values survive restarts in a JSON file in the state directory.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "bluetti/schema/value.hpp"

namespace bluetti::ha {

class CounterGuard {
public:
    explicit CounterGuard(std::filesystem::path file = {});  // empty path = in memory only

    struct Verdict {
        std::size_t held = 0;      // decreases held back in this block
        std::size_t accepted = 0;  // decreases confirmed by a second read and accepted
    };
    // Rewrites the counters of `block` for `serial` in place: a held-back field gets the last
    // published value. Other fields are untouched.
    Verdict filter(const std::string& serial, schema::DecodedBlock& block);
    void save() const;  // writes the file if anything changed since the last save

private:
    struct Counter {
        double published = 0;
        bool pending_lower = false;
        double pending_value = 0;
    };
    std::filesystem::path file_;
    std::map<std::string, Counter> counters_;  // "<serial>/<key>"
    mutable bool dirty_ = false;
};

}  // namespace bluetti::ha
