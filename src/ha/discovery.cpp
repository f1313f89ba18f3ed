// Home Assistant discovery and state payloads (discovery.hpp), built as JSON objects from the schema
// rows and the semantics tables (docs/style.md #6; discovery_parts.hpp says which file builds what).
// The rules are docs/home-assistant.md: §3 common keys, §4 the device block, §5 platforms, §6 units/device
// classes/state classes, §7 state topics. Everything is a pure function of its arguments: same
// input, byte-identical output (§12), so a republished config never makes Home Assistant tear an
// entity down. This file: the diagnostics, the bridge's own device, and the states.
#include "bluetti/ha/discovery.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "discovery_parts.hpp"

namespace bluetti::ha {

namespace detail {

namespace {

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

}  // namespace

bool is_diagnostic_key(std::string_view key) {
    return std::any_of(std::begin(kDiagnostics), std::end(kDiagnostics), [&](const DiagnosticRow& d) { return d.key == key; });
}

// Diagnostics follow the bridge availability only: they matter most while the station is offline.
void append_diagnostics(const Context& ctx, bool writable, std::vector<Entity>& out) {
    const std::string diagnostics = state_topic(ctx.options, ctx.station.serial, "diagnostics");
    for (const DiagnosticRow& d : kDiagnostics) {
        if (d.key == "write_failures" && !writable) continue;
        json c = fixed_component(d, ctx.id_prefix, ctx.device_slug, ctx.device_name, diagnostics, availability_list(ctx.options, nullptr));
        std::string platform = c["platform"].get<std::string>();
        out.push_back(Entity{std::string(d.key), std::move(platform), std::move(c)});
    }
}

}  // namespace detail

using namespace detail;

std::string state_topic(const DiscoveryOptions& options, const std::string& serial, const std::string& state_topic_name) {
    return options.base + "/" + serial + "/" + state_topic_name;
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
