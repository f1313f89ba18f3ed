// Home Assistant MQTT discovery and state payloads, as pure functions (docs/style.md #6): JSON objects
// built by code from the schema rows and one semantics table, never string templates. The rules are
// docs/home-assistant.md; the topics and ids are the contract of docs/architecture.md, "Stable contract":
//   <prefix>/device/bluetti_<serial>/config           (device-based, default)
//   <prefix>/<platform>/bluetti_<serial>/<key>/config (discovery: entity)
//   unique_id bluetti_<serial>_<key>; states on <base>/<serial>/<state_topic>.
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/registry.hpp"
#include "bluetti/schema/value.hpp"

namespace bluetti::ha {

enum class DiscoveryMode { device, entity, none };

struct DiscoveryOptions {
    std::string prefix = "homeassistant";
    std::string base = "bluetti";
    DiscoveryMode mode = DiscoveryMode::device;
    std::string bridge_id = "bluetti-bridge";  // local client id: the bridge device is bluetti_bridge_<id>
    std::string version = "0.1.0";             // origin.sw_version
};

// What Home Assistant's device block says about one power station.
struct StationInfo {
    std::string serial;      // normalised once, never changed (docs/home-assistant.md §2.3)
    std::string name;        // configured name, else "BLUETTI <display name>"
    std::string model_name;  // marketing name (profile display name)
    std::string model_id;    // cloud model code
    std::string sw_version;  // "ARM 2204.15, DSP 2174.17" once block 1100 was read; empty = omitted
};

// One entity: its canonical key and the component config (no device/origin blocks).
struct Entity {
    std::string key;
    std::string platform;  // sensor, binary_sensor, switch, select, number
    nlohmann::ordered_json component;
};

// Where a key's value is published: the block's state-topic name ("home_data"), or "diagnostics".
std::string state_topic(const DiscoveryOptions& options, const std::string& serial, const std::string& state_topic_name);

// The entities of one station: for every key in `present_keys` (the expanded keys seen present in
// decoded data), the row that produced it (`schemas`), minus `exclude`; rows with entity `none` and
// control rows when `controls` is false are left out. A control row becomes a switch, select or
// number only when its key is in `writable_controls`; otherwise it is a read-only sensor.
// Diagnostics (rssi, last_seen, polls, timeouts, crc_errors, exceptions, latency_ms, and
// write_failures when something is writable) are always there, with the bridge availability only.
struct EntityInput {
    const schema::SchemaRegistry* schemas = nullptr;
    std::set<std::string> present_keys;
    std::set<std::string> exclude;
    bool controls = true;
    std::set<std::string> writable_controls;
};
std::vector<Entity> station_entities(const DiscoveryOptions& options, const StationInfo& station, const EntityInput& input);

struct Message {
    std::string topic;
    std::string payload;  // empty = clear the retained config
};

// Device mode: one message; entity mode: one per entity; none: nothing.
std::vector<Message> station_discovery(const DiscoveryOptions& options, const StationInfo& station, const std::vector<Entity>& entities);
// The bridge's own device (cloud session connected, reconnects, version), bridge availability only.
std::vector<Message> bridge_discovery(const DiscoveryOptions& options);

// Whether a retained discovery config found on the broker was published by this bridge instance:
// origin bluetti-bridge, our bridge availability topic (<base>/bridge/availability) among its
// availability, and a device that is our bridge device or hangs off it (via_device). A second
// instance (own base_topic and client_id, e.g. for a second account) on the same broker fails the
// last two, so the start-up clean-up never removes its configs.
bool published_by(const DiscoveryOptions& options, const nlohmann::json& config);

// One block's retained state: present keys only (absent values are not published, never 0);
// booleans as "ON"/"OFF"; numbers with their schema precision; enums as their option string.
std::string block_state(const schema::DecodedBlock& block, const std::set<std::string>& exclude);

}  // namespace bluetti::ha
