// Which device classes, units and state classes Home Assistant accepts together (docs/home-assistant.md
// §6), and the roles of the controls. A row whose combination is not in here loses the offending
// part instead of getting the whole config rejected by Home Assistant.
#include <algorithm>

#include "discovery_parts.hpp"

namespace bluetti::ha::detail {

using schema::FieldSpec;

namespace {

struct SensorClass {
    std::string_view name;
    std::vector<std::string_view> units;          // "" = no unit allowed
    std::vector<std::string_view> state_classes;  // empty = no state class allowed
};

const std::vector<SensorClass>& sensor_classes() {
    static const std::vector<std::string_view> energy_units{"Wh", "kWh", "MWh", "GWh",  "TWh",  "mWh",
                                                            "MJ", "GJ",  "cal", "kcal", "Mcal", "Gcal"};
    static const std::vector<std::string_view> measurement{"measurement"};
    static const std::vector<SensorClass> table{
        {"apparent_power", {"VA", "kVA"}, measurement},
        {"battery", {"%"}, measurement},
        {"current", {"A", "mA"}, measurement},
        {"duration", {"d", "h", "min", "s", "ms", "µs"}, {"measurement", "total", "total_increasing"}},
        {"energy", energy_units, {"total", "total_increasing"}},
        {"energy_storage", energy_units, measurement},
        {"frequency", {"Hz", "kHz", "MHz", "GHz"}, measurement},
        {"power", {"mW", "W", "kW", "MW", "GW", "TW", "BTU/h"}, measurement},
        {"power_factor", {"%", ""}, measurement},
        {"reactive_power", {"var", "kvar"}, measurement},
        {"signal_strength", {"dB", "dBm"}, measurement},
        {"temperature", {"°C", "°F", "K"}, measurement},
        {"voltage", {"µV", "mV", "V", "kV", "MV"}, measurement},
        {"timestamp", {""}, {}},
        {"date", {""}, {}},
        {"enum", {""}, {}},
    };
    return table;
}

// State classes a sensor without a device class may have.
constexpr std::string_view kPlainStateClasses[] = {"measurement", "total", "total_increasing"};

constexpr std::string_view kBinarySensorClasses[] = {
    "battery", "battery_charging", "carbon_monoxide", "cold",   "connectivity", "door",    "garage_door", "gas",   "heat",     "light",
    "lock",    "moisture",         "motion",          "moving", "occupancy",    "opening", "plug",        "power", "presence", "problem",
    "running", "safety",           "smoke",           "sound",  "tamper",       "update",  "vibration",   "window"};

template <class Range>
bool contains(const Range& range, std::string_view value) {
    return std::find(std::begin(range), std::end(range), value) != std::end(range);
}

const SensorClass* find_class(std::string_view name) {
    for (const auto& c : sensor_classes())
        if (c.name == name) return &c;
    return nullptr;
}

}  // namespace

Semantics numeric_semantics(const FieldSpec& f) {
    Semantics s{f.device_class, f.unit, f.state_class};
    const SensorClass* c = s.device_class.empty() ? nullptr : find_class(s.device_class);
    if (c && (!contains(c->units, s.unit) || c->name == "enum" || c->name == "timestamp" || c->name == "date")) c = nullptr;
    if (!c) s.device_class.clear();
    if (!s.state_class.empty()) {
        const bool ok = c ? contains(c->state_classes, s.state_class) : contains(kPlainStateClasses, s.state_class);
        if (!ok) s.state_class.clear();
    }
    return s;
}

// A numeric sensor without a state class gets no long-term statistics, and HA's power views ignore
// it (§6, §15.5). When the row names none (or one that does not fit), a value with a unit is an
// instantaneous one: measurement. Never total_increasing by default: the counter guard
// (counter_guard.hpp) protects only rows that declare it, and an unguarded counter that dips is
// counted again from zero (§9).
void default_state_class(Semantics& s) {
    if (!s.state_class.empty() || (s.device_class.empty() && s.unit.empty())) return;
    const SensorClass* c = s.device_class.empty() ? nullptr : find_class(s.device_class);
    if (c ? contains(c->state_classes, "measurement") : contains(kPlainStateClasses, "measurement")) s.state_class = "measurement";
}

void put_semantics(json& c, const Semantics& s) {
    if (!s.device_class.empty()) c["device_class"] = s.device_class;
    if (!s.unit.empty()) c["unit_of_measurement"] = s.unit;
    if (!s.state_class.empty()) c["state_class"] = s.state_class;
}

bool is_binary_sensor_class(std::string_view device_class) {
    return contains(kBinarySensorClasses, device_class);
}

// Controls (docs/protocol.md §8): which ones are settings (entity_category config) and which switches
// are outlets. Output switches are primary controls; eco and limit settings are configuration.
constexpr ControlRole kControlRoles[] = {
    {"ac_output_switch", false, true},    {"dc_output_switch", false, true},       {"dc_eco_switch", true, false},
    {"dc_eco_off_time", true, false},     {"dc_eco_power_threshold", true, false}, {"ac_eco_switch", true, false},
    {"ac_eco_off_time", true, false},     {"ac_eco_power_threshold", true, false}, {"charging_mode", false, false},
    {"power_lifting", false, false},      {"soc_discharge_limit", true, false},    {"soc_charge_limit", true, false},
    {"grid_charge_switch", false, false}, {"feed_in_switch", false, false},        {"grid_charge_power_limit", true, false},
    {"feed_in_power_limit", true, false},
};

const ControlRole* control_role(std::string_view key) {
    for (const auto& r : kControlRoles)
        if (r.key == key) return &r;
    return nullptr;
}

}  // namespace bluetti::ha::detail
