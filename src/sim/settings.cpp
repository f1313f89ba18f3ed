#include "sim/settings.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

#include "bluetti/codec/write_whitelist.hpp"

namespace bluetti::sim {

namespace {

enum class Kind : std::uint8_t { boolean, number, charging_mode, working_mode };

// The settings registers with a canonical key: key, kind and the simulator's default value.
struct Row {
    std::uint16_t reg;
    std::string_view key;
    Kind kind;
    std::uint16_t initial;
};

constexpr std::array<Row, 21> kRows{{
    {2010, "inverter_switch", Kind::boolean, 1},         {2011, "ac_output_switch", Kind::boolean, 1},
    {2012, "dc_output_switch", Kind::boolean, 1},        {2014, "dc_eco_switch", Kind::boolean, 0},
    {2015, "dc_eco_off_time", Kind::number, 2},          {2016, "dc_eco_power_threshold", Kind::number, 10},
    {2017, "ac_eco_switch", Kind::boolean, 0},           {2018, "ac_eco_off_time", Kind::number, 2},
    {2019, "ac_eco_power_threshold", Kind::number, 25},  {2020, "charging_mode", Kind::charging_mode, 0},
    {2021, "power_lifting", Kind::boolean, 0},           {2022, "soc_discharge_limit", Kind::number, 10},
    {2023, "soc_charge_limit", Kind::number, 100},       {2207, "grid_charge_switch", Kind::boolean, 1},
    {2208, "feed_in_switch", Kind::boolean, 0},          {2213, "grid_charge_power_limit", Kind::number, 1000},
    {2214, "ac_input_current_limit", Kind::number, 10},  {2215, "feed_in_power_limit", Kind::number, 800},
    {2216, "ac_output_current_limit", Kind::number, 10}, {2005, "working_mode", Kind::working_mode, 4},
    {2029, "time_control_switch", Kind::boolean, 1},
}};

// The six time slots (2030–2047): mode, start and end (hour in the high byte, minute in the low).
constexpr std::uint16_t kFirstTimeSlot = 2030;
constexpr int kTimeSlots = 6;
struct TimeSlot {
    std::uint16_t mode, start, end;
};
constexpr std::array<TimeSlot, 2> kInitialSlots{{{1, 0x0100, 0x051E}, {2, 0x1200, 0x1600}}};  // charge 01:00–05:30, discharge 18–22

std::string_view slot_mode_label(std::uint16_t code) {
    static constexpr std::string_view kLabels[] = {"off", "charge", "discharge", "standby"};
    return code < std::size(kLabels) ? kLabels[code] : std::string_view{};
}

std::string clock_text(std::uint16_t v) {
    char text[8];
    std::snprintf(text, sizeof text, "%02u:%02u", static_cast<unsigned>(v >> 8), static_cast<unsigned>(v & 0xFF));
    return text;
}

constexpr std::uint16_t kSocDischargeLimit = 2022;
constexpr std::uint16_t kSocChargeLimit = 2023;

// The register of a row: grid charging lives where the model keeps it.
std::uint16_t reg_of(const Row& row, std::uint16_t grid_charge_register) {
    return row.reg == kGridChargeRegister ? grid_charge_register : row.reg;
}

std::string_view working_mode_label(std::uint16_t code) {
    switch (code) {
        case 1:
            return "custom_ups";
        case 2:
            return "pv_priority";
        case 4:
            return "standard_ups";
        case 5:
            return "time_control";
        default:
            return {};
    }
}

std::string_view charging_mode_label(std::uint16_t code) {
    switch (code) {
        case 0:
            return "standard";
        case 1:
            return "silent";
        case 2:
            return "turbo";
        case 3:
        case 4:
            return "custom";
        default:
            return {};
    }
}

std::uint16_t block_of(std::uint16_t reg) {
    if (reg >= kBaseSettingsBlock && reg < kBaseSettingsBlock + kBaseSettingsRegisters) return kBaseSettingsBlock;
    if (reg >= kAdvancedSettingsBlock && reg < kAdvancedSettingsBlock + kAdvancedSettingsRegisters) return kAdvancedSettingsBlock;
    return 0;
}

}  // namespace

std::string_view to_string(WriteOutcome outcome) {
    switch (outcome) {
        case WriteOutcome::written:
            return "written";
        case WriteOutcome::out_of_range:
            return "out of range";
        case WriteOutcome::not_writable:
            return "not writable";
        case WriteOutcome::no_such_block:
            return "no such block";
    }
    return "?";
}

SettingsFile::SettingsFile(bool has_advanced, std::uint16_t grid_charge_register)
    : has_advanced_(has_advanced), grid_charge_register_(grid_charge_register) {
    for (const Row& row : kRows) registers_[reg_of(row, grid_charge_register_)] = row.initial;
    for (std::size_t i = 0; i < kInitialSlots.size(); ++i) {
        const auto first = static_cast<std::uint16_t>(kFirstTimeSlot + 3 * i);
        registers_[first] = kInitialSlots[i].mode;
        registers_[first + 1] = kInitialSlots[i].start;
        registers_[first + 2] = kInitialSlots[i].end;
    }
}

bool SettingsFile::has_block(std::uint16_t block) const {
    return block == kBaseSettingsBlock || (block == kAdvancedSettingsBlock && has_advanced_);
}

std::uint16_t SettingsFile::get(std::uint16_t reg) const {
    auto it = registers_.find(reg);
    return it == registers_.end() ? 0 : it->second;
}

WriteOutcome SettingsFile::write(std::uint16_t reg, std::uint16_t value) {
    const codec::WritableRegister* w = codec::find_writable(reg);
    if (!w) return WriteOutcome::not_writable;
    if (!has_block(block_of(reg))) return WriteOutcome::no_such_block;
    if (value < w->min || value > w->max) return WriteOutcome::out_of_range;
    if (reg == kSocDischargeLimit && value >= get(kSocChargeLimit)) return WriteOutcome::out_of_range;
    if (reg == kSocChargeLimit && value <= get(kSocDischargeLimit)) return WriteOutcome::out_of_range;
    registers_[reg] = value;
    return WriteOutcome::written;
}

Bytes SettingsFile::block_data(std::uint16_t block, std::size_t registers) const {
    Bytes data;
    data.reserve(registers * 2);
    for (std::size_t i = 0; i < registers; ++i) {
        const std::uint16_t v = get(static_cast<std::uint16_t>(block + i));
        data.push_back(static_cast<std::uint8_t>(v >> 8));
        data.push_back(static_cast<std::uint8_t>(v & 0xFF));
    }
    return data;
}

schema::ValueMap SettingsFile::values(std::uint16_t block) const {
    schema::ValueMap out;
    for (const Row& row : kRows) {
        const std::uint16_t reg = reg_of(row, grid_charge_register_);
        if (block_of(reg) != block) continue;
        const std::uint16_t v = get(reg);
        switch (row.kind) {
            case Kind::boolean:
                out[std::string(row.key)] = v != 0;
                break;
            case Kind::number:
                out[std::string(row.key)] = static_cast<std::int64_t>(v);
                break;
            case Kind::charging_mode:
                if (auto label = charging_mode_label(v); !label.empty()) out[std::string(row.key)] = std::string(label);
                break;
            case Kind::working_mode:
                if (auto label = working_mode_label(v); !label.empty()) out[std::string(row.key)] = std::string(label);
                break;
        }
    }
    if (block == kBaseSettingsBlock) {
        for (int i = 0; i < kTimeSlots; ++i) {
            const auto first = static_cast<std::uint16_t>(kFirstTimeSlot + 3 * i);
            std::string slot = "time_slot";  // appended: g++ 12 -O3 warns falsely on "…" + std::to_string
            slot += std::to_string(i + 1);
            if (auto label = slot_mode_label(get(first)); !label.empty()) out[slot + "_mode"] = std::string(label);
            out[slot + "_start"] = clock_text(get(first + 1));
            out[slot + "_end"] = clock_text(get(first + 2));
        }
    }
    return out;
}

Controls SettingsFile::controls() const {
    Controls c;
    c.ac_output = get(2011) != 0;
    c.dc_output = get(2012) != 0;
    c.grid_charge = get(grid_charge_register_) != 0;
    c.feed_in = get(2208) != 0;
    c.soc_min = get(kSocDischargeLimit);
    c.soc_max = get(kSocChargeLimit);
    c.grid_charge_limit_w = get(2213);
    c.feed_in_limit_w = get(2215);
    switch (get(2020)) {
        case 1:
            c.charge_factor = 0.4;
            break;
        case 2:
            c.charge_factor = 1.0;
            break;
        default:
            c.charge_factor = 0.7;
            break;
    }
    return c;
}

}  // namespace bluetti::sim
