// Home Assistant discovery and state payloads (discovery.hpp), built as JSON objects from the schema
// rows and the semantics tables below (docs/style.md #6). The rules are docs/home-assistant.md:
// §3 common keys, §4 the device block, §5 platforms, §6 units/device classes/state classes, §7 state
// topics. Everything here is a pure function of its arguments: same input, byte-identical output
// (§12), so a republished config never makes Home Assistant tear an entity down.
#include "bluetti/ha/discovery.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>

#include "bluetti/natural_order.hpp"
#include "bluetti/profile/controls.hpp"

namespace bluetti::ha {

namespace {

using json = nlohmann::ordered_json;
using schema::BaseType;
using schema::BlockSchema;
using schema::EntityKind;
using schema::FieldSpec;
using schema::GroupSpec;
using schema::Template;

// ---------------------------------------------------------------------------------------------
// Semantics tables (docs/home-assistant.md §6): which units and state classes each device class allows.
// A row whose combination is not in here loses the offending part instead of getting the whole
// config rejected by Home Assistant.

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

struct Semantics {
    std::string device_class;
    std::string unit;
    std::string state_class;
};

// The row's device class, unit and state class, minus whatever does not fit together (§6).
// `enum`, `timestamp` and `date` are handled by the caller (they need options or no unit).
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

// Controls (docs/protocol.md §8): which ones are settings (entity_category config) and which switches
// are outlets. Output switches are primary controls; eco and limit settings are configuration.
struct ControlRole {
    std::string_view key;
    bool config;
    bool outlet;
};
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

// Link and health values of one station, published on <base>/<serial>/diagnostics (§7).
struct DiagnosticRow {
    std::string_view key;
    std::string_view name;
    std::string_view device_class;
    std::string_view unit;
    std::string_view state_class;
};
constexpr DiagnosticRow kDiagnostics[] = {
    {"rssi", "Signal strength", "signal_strength", "dBm", "measurement"},
    {"last_seen", "Last seen", "timestamp", "", ""},
    {"polls", "Polls", "", "", "total_increasing"},
    {"timeouts", "Timeouts", "", "", "total_increasing"},
    {"crc_errors", "CRC errors", "", "", "total_increasing"},
    {"exceptions", "Modbus exceptions", "", "", "total_increasing"},
    {"latency_ms", "Latency", "duration", "ms", "measurement"},
    {"unsolicited", "Stray frames", "", "", "total_increasing"},
    {"foreign_replies", "Other clients' replies", "", "", "total_increasing"},
    {"rejected_frames", "Rejected frames", "", "", "total_increasing"},
    {"confirmations", "Confirmation reads", "", "", "total_increasing"},
    {"contention", "Another client reading", "", "", ""},
    {"write_failures", "Failed writes", "", "", "total_increasing"},  // only with writable controls
};

// The bridge's own entities, on <base>/bridge/state.
constexpr DiagnosticRow kBridgeEntities[] = {
    {"cloud_connected", "Cloud connection", "connectivity", "", ""},
    {"reconnects", "Cloud reconnects", "", "", "total_increasing"},
    {"session_conflicts", "Session conflicts", "", "", "total_increasing"},
    {"version", "Version", "", "", ""},
};

// ---------------------------------------------------------------------------------------------
// Names, ids and topics.

bool is_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// Node and object ids of discovery topics: only [A-Za-z0-9_-] (§2.3).
std::string topic_id(std::string_view text) {
    std::string out;
    for (char c : text) out.push_back(is_id_char(c) ? c : '_');
    return out;
}

std::string bridge_node(const DiscoveryOptions& o) {
    return "bluetti_bridge_" + topic_id(o.bridge_id.empty() ? std::string_view("bluetti-bridge") : std::string_view(o.bridge_id));
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
char upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}
bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c & 0x80);
}

// Entity-id slug: lower case, runs of anything else as one '_', no '_' at either end.
std::string slug(std::string_view text) {
    std::string out;
    for (char c : text) {
        const char l = lower(c);
        if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'))
            out.push_back(l);
        else if (!out.empty() && out.back() != '_')
            out.push_back('_');
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
    return out;
}

std::string station_name(const StationInfo& s) {
    if (!s.name.empty()) return s.name;
    return "BLUETTI " + (!s.model_name.empty() ? s.model_name : !s.model_id.empty() ? s.model_id : s.serial);
}

// True when `name` starts with `prefix` as whole words, ignoring case.
bool starts_with_words(std::string_view name, std::string_view prefix) {
    if (prefix.empty() || name.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (lower(name[i]) != lower(prefix[i])) return false;
    return name.size() == prefix.size() || !is_alnum(name[prefix.size()]) || !is_alnum(prefix.back());
}

std::string sentence_case(std::string_view key) {
    std::string out(key);
    std::replace(out.begin(), out.end(), '_', ' ');
    if (!out.empty()) out[0] = upper(out[0]);
    return out;
}

// HA shows "device name + entity name": a name that repeats the device name shows it twice (§3).
std::string entity_name(std::string_view raw, std::string_view device, std::string_view key) {
    for (std::string candidate : {std::string(raw), sentence_case(key)}) {
        if (starts_with_words(candidate, device)) {
            candidate.erase(0, device.size());
            const auto first = candidate.find_first_not_of(" -_:,.");
            candidate.erase(0, first == std::string::npos ? candidate.size() : first);
            if (!candidate.empty()) candidate[0] = upper(candidate[0]);
        }
        if (!candidate.empty() && !starts_with_words(candidate, device)) return candidate;
    }
    return std::string(key);
}

std::string value_template(std::string_view key) {
    // Absent keys are left out of the state JSON; `default(None)` renders them as "None", which HA
    // reads as unknown. Never a numeric default (§7).
    return "{{ value_json." + std::string(key) + " | default(None) }}";
}

json availability_list(const DiscoveryOptions& o, const std::string* serial) {
    json list = json::array();
    list.push_back({{"topic", o.base + "/bridge/availability"}});
    if (serial) list.push_back({{"topic", o.base + "/" + *serial + "/availability"}});
    return list;
}

json origin_block(const DiscoveryOptions& o) {
    json origin{{"name", "bluetti-bridge"}};
    if (!o.version.empty()) origin["sw_version"] = o.version;
    return origin;
}

// The one place a station's device block is built (§4): identical in every config.
json station_device(const DiscoveryOptions& o, const StationInfo& s) {
    json d;
    d["identifiers"] = json::array({"bluetti_" + s.serial});
    d["name"] = station_name(s);
    d["manufacturer"] = "BLUETTI";
    if (!s.model_name.empty()) d["model"] = s.model_name;
    if (!s.model_id.empty()) d["model_id"] = s.model_id;
    d["serial_number"] = s.serial;
    if (!s.sw_version.empty()) d["sw_version"] = s.sw_version;
    d["via_device"] = bridge_node(o);
    return d;
}

json bridge_device(const DiscoveryOptions& o) {
    json d;
    d["identifiers"] = json::array({bridge_node(o)});
    d["name"] = "Bluetti bridge";
    d["manufacturer"] = "bluetti-bridge";
    if (!o.version.empty()) d["sw_version"] = o.version;
    return d;
}

// platform, unique_id, default_entity_id, name: the head every component starts with.
json component_head(std::string_view platform, const std::string& id_prefix, std::string_view device_slug, std::string_view key,
                    const std::string& name) {
    json c;
    c["platform"] = platform;
    c["unique_id"] = id_prefix + std::string(key);
    c["default_entity_id"] = std::string(platform) + "." + (device_slug.empty() ? "" : std::string(device_slug) + "_") + std::string(key);
    c["name"] = name;
    return c;
}

void put_semantics(json& c, const Semantics& s) {
    if (!s.device_class.empty()) c["device_class"] = s.device_class;
    if (!s.unit.empty()) c["unit_of_measurement"] = s.unit;
    if (!s.state_class.empty()) c["state_class"] = s.state_class;
}

// A fixed row (diagnostics, bridge entities) as a diagnostic sensor or binary sensor.
json fixed_component(const DiagnosticRow& row, const std::string& id_prefix, std::string_view device_slug, std::string_view device_name,
                     const std::string& topic, json availability) {
    const bool binary = row.key == "cloud_connected" || row.key == "contention";
    json c =
        component_head(binary ? "binary_sensor" : "sensor", id_prefix, device_slug, row.key, entity_name(row.name, device_name, row.key));
    c["entity_category"] = "diagnostic";
    c["state_topic"] = topic;
    c["value_template"] = value_template(row.key);
    put_semantics(c, Semantics{std::string(row.device_class), std::string(row.unit), std::string(row.state_class)});
    if (binary) {
        c["payload_on"] = "ON";
        c["payload_off"] = "OFF";
    }
    c["availability"] = std::move(availability);
    return c;
}

// ---------------------------------------------------------------------------------------------
// From an expanded key back to its schema row.

struct Row {
    const BlockSchema* block = nullptr;
    const FieldSpec* field = nullptr;
    const GroupSpec* group = nullptr;  // for key_from names
    std::size_t ordinal = 0;           // position in the block's key templates
};

std::vector<Row> all_rows(const schema::SchemaRegistry& registry) {
    std::vector<Row> rows;
    for (const BlockSchema* b : registry.all()) {
        std::size_t n = 0;
        for (const FieldSpec& f : b->fields) rows.push_back({b, &f, nullptr, n++});
        for (const GroupSpec& g : b->groups)
            for (const FieldSpec& f : g.fields) rows.push_back({b, &f, &g, n++});
        for (const auto& d : b->derived) rows.push_back({b, &d.field, nullptr, n++});
    }
    // Rows without placeholders first: an exact key beats a pattern.
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return !a.field->key.has_holes() && b.field->key.has_holes(); });
    return rows;
}

using Holes = std::vector<std::pair<std::string, std::string>>;

// Binds the placeholders of `t` (from piece `piece` on) so that it expands to `key`. A placeholder
// matches a non-empty run of [a-z0-9]; a key_from placeholder also matches one of its names
// ("dc_hub" holds an underscore).
bool match(const Template& t, std::size_t piece, std::string_view key, const GroupSpec* group, Holes& holes) {
    const std::string& literal = t.pieces[piece];
    if (key.substr(0, literal.size()) != literal) return false;
    key.remove_prefix(literal.size());
    if (piece + 1 == t.pieces.size()) return key.empty();
    const std::string& hole = t.pieces[piece + 1];
    auto attempt = [&](std::size_t length) {
        holes.emplace_back(hole, std::string(key.substr(0, length)));
        if (match(t, piece + 2, key.substr(length), group, holes)) return true;
        holes.pop_back();
        return false;
    };
    if (group && group->key_from && group->key_from->placeholder == hole) {
        for (const auto& name : group->key_from->names)
            if (key.substr(0, name.label.size()) == name.label && attempt(name.label.size())) return true;
    }
    std::size_t run = 0;
    while (run < key.size() && ((key[run] >= 'a' && key[run] <= 'z') || (key[run] >= '0' && key[run] <= '9'))) ++run;
    for (std::size_t length = 1; length <= run; ++length)
        if (attempt(length)) return true;
    return false;
}

std::string expand_name(const Template& name, const Holes& holes) {
    schema::Bindings b;
    for (const auto& [hole, value] : holes)
        if (b.size < std::size(b.items)) b.bind(hole, value);
    return schema::expand(name, b);
}

bool is_numeric(const FieldSpec& f) {
    return !f.is_enum() && f.bit < 0 && f.type != BaseType::boolean && schema::is_integer_type(f.type);
}

bool is_bool(const FieldSpec& f) {
    return f.type == BaseType::boolean || f.bit >= 0;
}

// Distinct option labels in code order (a writable select's are its control's, profile::Control).
json option_labels(const FieldSpec& f) {
    json labels = json::array();
    for (const auto& o : f.options)
        if (std::find(labels.begin(), labels.end(), json(o.label)) == labels.end()) labels.push_back(o.label);
    return labels;
}

struct Context {
    const DiscoveryOptions& options;
    const StationInfo& station;
    std::string device_name;
    std::string device_slug;
    std::string id_prefix;  // bluetti_<serial>_
    const std::set<std::string>* writable_controls = nullptr;
};

// A read-only row: sensor (numeric, enum or text) or binary sensor.
json read_only_component(const Context& ctx, const Row& row, const std::string& key, const std::string& name, const std::string& topic) {
    const FieldSpec& f = *row.field;
    json c = component_head(is_bool(f) ? "binary_sensor" : "sensor", ctx.id_prefix, ctx.device_slug, key, name);
    // A sensor is never `config` (HA refuses it, §3): a setting shown read-only here (the device may
    // not be written through) is something to look up, not a primary value, so it is diagnostic.
    const ControlRole* role = f.entity == EntityKind::control ? control_role(key) : nullptr;
    const bool setting = f.entity == EntityKind::control && (f.entity_category == "config" || (role && role->config));
    if (f.entity_category == "diagnostic" || setting) c["entity_category"] = "diagnostic";
    if (!f.enabled_by_default) c["enabled_by_default"] = false;
    c["state_topic"] = topic;
    c["value_template"] = value_template(key);
    if (is_bool(f)) {
        if (contains(kBinarySensorClasses, f.device_class)) c["device_class"] = f.device_class;
        c["payload_on"] = "ON";
        c["payload_off"] = "OFF";
        return c;
    }
    if (f.is_enum()) {  // enum: the labels, no unit, no state class (§6)
        c["device_class"] = "enum";
        c["options"] = option_labels(f);
        return c;
    }
    if (f.device_class == "timestamp" || f.device_class == "date") {
        c["device_class"] = f.device_class;
        return c;
    }
    if (!is_numeric(f)) return c;  // text (string, serial, version, bits): no unit or classes
    Semantics s = numeric_semantics(f);
    default_state_class(s);
    put_semantics(c, s);
    if (s.device_class == "energy")
        c["suggested_display_precision"] = 1;  // 0.1 kWh resolution (§9)
    else if (is_numeric(f) && f.precision > 0)
        c["suggested_display_precision"] = f.precision;
    return c;
}

// A control row (docs/protocol.md §8): switch, select or number, commanded on <base>/<serial>/set/<key>.
// A control the device may not be written through (not whitelisted, or not enabled by its profile
// or its `controls:` list) is shown read-only.
json control_component(const Context& ctx, const Row& row, const std::string& key, const std::string& name, const std::string& topic) {
    const FieldSpec& f = *row.field;
    std::optional<profile::Control> control;
    if (ctx.writable_controls && ctx.writable_controls->count(key)) control = profile::describe_control(key, row.block, f);
    const bool usable = control && (!f.is_enum() || control->options.size() >= 2);
    if (!usable) return read_only_component(ctx, row, key, name, topic);

    const ControlRole* role = control_role(key);
    const std::string platform = control->kind == profile::Control::Kind::switch_  ? "switch"
                                 : control->kind == profile::Control::Kind::select ? "select"
                                                                                   : "number";
    json c = component_head(platform, ctx.id_prefix, ctx.device_slug, key, name);
    if (!f.entity_category.empty())
        c["entity_category"] = f.entity_category;
    else if (role && role->config)
        c["entity_category"] = "config";
    if (!f.enabled_by_default) c["enabled_by_default"] = false;
    if (platform == "switch") c["device_class"] = role && role->outlet ? "outlet" : "switch";
    c["state_topic"] = topic;
    c["value_template"] = value_template(key);
    c["command_topic"] = ctx.options.base + "/" + ctx.station.serial + "/set/" + key;
    if (platform == "switch") {
        c["payload_on"] = "ON";
        c["payload_off"] = "OFF";
    } else if (platform == "select") {
        c["options"] = control->options;
    } else {
        c["min"] = control->min;
        c["max"] = control->max;
        c["step"] = control->step;
        c["mode"] = "box";
        const Semantics s = numeric_semantics(f);
        if (!s.device_class.empty()) c["device_class"] = s.device_class;
        if (!f.unit.empty()) c["unit_of_measurement"] = f.unit;
    }
    return c;
}

// Device mode: one config with every component; entity mode: one config per entity carrying the
// device, origin and availability itself; none: nothing.
std::vector<Message> messages_for(const DiscoveryOptions& o, const std::string& node, const json& device, const json& availability,
                                  const std::vector<Entity>& entities) {
    std::vector<Message> out;
    if (o.mode == DiscoveryMode::none) return out;
    if (o.mode == DiscoveryMode::device) {
        json payload;
        payload["device"] = device;
        payload["origin"] = origin_block(o);
        payload["availability"] = availability;
        payload["availability_mode"] = "all";
        payload["qos"] = 1;
        json components = json::object();
        for (const Entity& e : entities) components[e.key] = e.component;
        payload["components"] = std::move(components);
        // Names are UTF-8 by then (the config is checked, REST JSON parsed); `replace` is the belt:
        // a dump must never throw inside the event loop.
        out.push_back({o.prefix + "/device/" + node + "/config", payload.dump(-1, ' ', false, json::error_handler_t::replace)});
        return out;
    }
    for (const Entity& e : entities) {
        json payload = e.component;
        payload["device"] = device;
        payload["origin"] = origin_block(o);
        if (!payload.contains("availability")) payload["availability"] = availability;
        payload["availability_mode"] = "all";
        payload["qos"] = 1;
        out.push_back({o.prefix + "/" + e.platform + "/" + node + "/" + topic_id(e.key) + "/config",
                       payload.dump(-1, ' ', false, json::error_handler_t::replace)});
    }
    return out;
}

}  // namespace

std::string state_topic(const DiscoveryOptions& options, const std::string& serial, const std::string& state_topic_name) {
    return options.base + "/" + serial + "/" + state_topic_name;
}

std::vector<Entity> station_entities(const DiscoveryOptions& options, const StationInfo& station, const EntityInput& input) {
    std::string device_slug = slug(station_name(station));
    if (device_slug.empty()) device_slug = slug("bluetti_" + station.serial);
    const std::set<std::string> writable = input.controls ? input.writable_controls : std::set<std::string>{};
    const Context ctx{options, station, station_name(station), device_slug, "bluetti_" + station.serial + "_", &writable};
    struct Sorted {
        std::uint16_t block;
        std::size_t ordinal;
        Entity entity;
    };
    std::vector<Sorted> found;
    const auto is_diagnostic = [](std::string_view key) {
        return std::any_of(std::begin(kDiagnostics), std::end(kDiagnostics), [&](const DiagnosticRow& d) { return d.key == key; });
    };
    if (input.schemas) {
        const std::vector<Row> rows = all_rows(*input.schemas);
        for (const std::string& key : input.present_keys) {
            if (input.exclude.count(key) || is_diagnostic(key)) continue;
            Holes holes;
            const Row* row = nullptr;
            for (const Row& r : rows) {
                holes.clear();
                if (match(r.field->key, 0, key, r.group, holes)) {
                    row = &r;
                    break;
                }
            }
            if (!row) continue;
            const FieldSpec& f = *row->field;
            if (f.entity == EntityKind::none || input.exclude.count(f.key.text)) continue;
            if (f.entity == EntityKind::control && !input.controls) continue;
            const std::string name = entity_name(expand_name(f.name, holes), ctx.device_name, key);
            const std::string topic = state_topic(options, station.serial, row->block->state_topic);
            json c = f.entity == EntityKind::control ? control_component(ctx, *row, key, name, topic)
                                                     : read_only_component(ctx, *row, key, name, topic);
            std::string platform = c["platform"].get<std::string>();
            found.push_back({row->block->block, row->ordinal, Entity{key, std::move(platform), std::move(c)}});
        }
    }
    std::sort(found.begin(), found.end(), [](const Sorted& a, const Sorted& b) {
        if (a.block != b.block || a.ordinal != b.ordinal) return std::tie(a.block, a.ordinal) < std::tie(b.block, b.ordinal);
        return natural_less(a.entity.key, b.entity.key);  // cell2 before cell10
    });
    std::vector<Entity> out;
    out.reserve(found.size() + std::size(kDiagnostics));
    for (auto& s : found) out.push_back(std::move(s.entity));

    // Diagnostics follow the bridge availability only: they matter most while the station is offline.
    const std::string diagnostics = state_topic(options, station.serial, "diagnostics");
    for (const DiagnosticRow& d : kDiagnostics) {
        if (d.key == "write_failures" && writable.empty()) continue;
        json c = fixed_component(d, ctx.id_prefix, ctx.device_slug, ctx.device_name, diagnostics, availability_list(options, nullptr));
        std::string platform = c["platform"].get<std::string>();
        out.push_back(Entity{std::string(d.key), std::move(platform), std::move(c)});
    }
    return out;
}

std::vector<Message> station_discovery(const DiscoveryOptions& options, const StationInfo& station, const std::vector<Entity>& entities) {
    return messages_for(options, "bluetti_" + topic_id(station.serial), station_device(options, station),
                        availability_list(options, &station.serial), entities);
}

std::vector<Message> bridge_discovery(const DiscoveryOptions& options) {
    const json device = bridge_device(options);
    const std::string name = device["name"].get<std::string>();
    const std::string node = bridge_node(options);
    const std::string topic = options.base + "/bridge/state";
    std::vector<Entity> entities;
    for (const DiagnosticRow& row : kBridgeEntities) {
        json c = fixed_component(row, node + "_", slug(name), name, topic, availability_list(options, nullptr));
        c.erase("availability");  // the shared availability is the bridge topic already
        std::string platform = c["platform"].get<std::string>();
        entities.push_back(Entity{std::string(row.key), std::move(platform), std::move(c)});
    }
    return messages_for(options, node, device, availability_list(options, nullptr), entities);
}

bool published_by(const DiscoveryOptions& options, const nlohmann::json& config) {
    // Anyone on the broker can publish a config: every member is checked for its type, since
    // json::value() throws on a mismatch (`"origin": {"name": 5}`).
    const auto member = [](const nlohmann::json& object, const char* key) {
        return object.is_object() && object.contains(key) ? object[key] : nlohmann::json();
    };
    const auto text = [&](const nlohmann::json& object, const char* key) {
        const auto v = member(object, key);
        return v.is_string() ? v.get<std::string>() : std::string();
    };
    const auto origin = config.is_object() && config.contains("origin") ? member(config, "origin") : member(config, "o");
    if (text(origin, "name") != "bluetti-bridge") return false;
    const std::string ours = availability_list(options, nullptr)[0]["topic"].get<std::string>();
    const auto availability = member(config, "availability");
    if (!availability.is_array() ||
        std::none_of(availability.begin(), availability.end(), [&](const nlohmann::json& a) { return text(a, "topic") == ours; }))
        return false;
    const auto device = member(config, "device");
    const std::string node = bridge_node(options);
    const auto ids = member(device, "identifiers");
    return text(device, "via_device") == node || (ids.is_array() && std::find(ids.begin(), ids.end(), node) != ids.end());
}

std::string block_state(const schema::DecodedBlock& block, const std::set<std::string>& exclude) {
    json state = json::object();
    for (const schema::DecodedField& f : block.fields) {
        if (schema::is_absent(f.value) || exclude.count(f.key)) continue;
        if (f.spec && exclude.count(f.spec->key.text)) continue;
        if (const auto* b = std::get_if<bool>(&f.value)) {
            state[f.key] = *b ? "ON" : "OFF";
        } else if (const auto* i = std::get_if<std::int64_t>(&f.value)) {
            state[f.key] = *i;
        } else if (const auto* d = std::get_if<double>(&f.value)) {
            if (!std::isfinite(*d)) continue;
            const int precision = f.spec ? std::clamp(f.spec->precision, 0, 6) : 6;
            if (precision == 0) {
                state[f.key] = static_cast<std::int64_t>(std::llround(*d));
            } else {
                const double p = std::pow(10.0, precision);
                const double rounded = std::round(*d * p) / p;
                state[f.key] = rounded == 0 ? 0.0 : rounded;  // no "-0.0"
            }
        } else if (const auto* s = std::get_if<std::string>(&f.value)) {
            state[f.key] = *s;
        }
    }
    return state.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace bluetti::ha
