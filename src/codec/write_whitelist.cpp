#include "bluetti/codec/write_whitelist.hpp"

#include <array>

namespace bluetti::codec {

namespace {
// docs/protocol.md §8. charging_mode stops at 2: "custom" (3/4) is shown when read but not writable.
constexpr std::array<WritableRegister, 16> kWritable{{
    {2011, "ac_output_switch", 0, 1},
    {2012, "dc_output_switch", 0, 1},
    {2014, "dc_eco_switch", 0, 1},
    {2015, "dc_eco_off_time", 1, 4},
    {2016, "dc_eco_power_threshold", 5, 20},
    {2017, "ac_eco_switch", 0, 1},
    {2018, "ac_eco_off_time", 1, 4},
    {2019, "ac_eco_power_threshold", 10, 40},
    {2020, "charging_mode", 0, 2},
    {2021, "power_lifting", 0, 1},
    {2022, "soc_discharge_limit", 0, 100},
    {2023, "soc_charge_limit", 1, 100},
    {2207, "grid_charge_switch", 0, 1},
    {2208, "feed_in_switch", 0, 1},
    {2213, "grid_charge_power_limit", 300, 6000},
    {2215, "feed_in_power_limit", 0, 6000},
}};
}  // namespace

std::span<const WritableRegister> writable_registers() {
    return kWritable;
}

const WritableRegister* find_writable(std::uint16_t reg) {
    for (const auto& w : kWritable)
        if (w.reg == reg) return &w;
    return nullptr;
}

const WritableRegister* find_writable(std::string_view key) {
    for (const auto& w : kWritable)
        if (w.key == key) return &w;
    return nullptr;
}

}  // namespace bluetti::codec
