// The parts Home Assistant discovery (bluetti/ha/discovery.hpp) is built from, one file per job:
//   discovery_semantics.cpp  which device classes, units and state classes fit together (§6), control roles
//   discovery_naming.cpp     names, ids, topics, device blocks, and configs as messages (§2–§4)
//   discovery_entities.cpp   a station's schema rows as sensors and binary sensors
//   discovery_controls.cpp   its control rows as switches, selects and numbers (docs/protocol.md §8)
//   discovery.cpp            diagnostics, the bridge's own device, states, and the public functions
// Internal to src/ha: every function here is pure, like the public ones.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/ha/discovery.hpp"
#include "bluetti/schema/block_schema.hpp"

namespace bluetti::ha::detail {

using json = nlohmann::ordered_json;

// ---- semantics (discovery_semantics.cpp)

struct Semantics {
    std::string device_class;
    std::string unit;
    std::string state_class;
};

// The row's device class, unit and state class, minus whatever does not fit together (§6).
// `enum`, `timestamp` and `date` are handled by the caller (they need options or no unit).
Semantics numeric_semantics(const schema::FieldSpec& f);
// Measurement for a value with a unit whose row names no (fitting) state class.
void default_state_class(Semantics& s);
void put_semantics(json& c, const Semantics& s);
bool is_binary_sensor_class(std::string_view device_class);

// Controls that are settings (entity_category config) and switches that are outlets.
struct ControlRole {
    std::string_view key;
    bool config;
    bool outlet;
};
const ControlRole* control_role(std::string_view key);

// ---- names, ids, topics and payloads (discovery_naming.cpp)

// Node and object ids of discovery topics: only [A-Za-z0-9_-] (§2.3).
std::string topic_id(std::string_view text);
std::string bridge_node(const DiscoveryOptions& o);
// Entity-id slug: lower case, runs of anything else as one '_', no '_' at either end.
std::string slug(std::string_view text);
std::string station_name(const StationInfo& s);
// HA shows "device name + entity name": a name that repeats the device name shows it twice (§3).
std::string entity_name(std::string_view raw, std::string_view device, std::string_view key);
std::string value_template(std::string_view key);
json availability_list(const DiscoveryOptions& o, const std::string* serial);
json station_device(const DiscoveryOptions& o, const StationInfo& s);
json bridge_device(const DiscoveryOptions& o);
// platform, unique_id, default_entity_id, name: the head every component starts with.
json component_head(std::string_view platform, const std::string& id_prefix, std::string_view device_slug, std::string_view key,
                    const std::string& name);
// Device mode: one config with every component; entity mode: one config per entity carrying the
// device, origin and availability itself; none: nothing.
std::vector<Message> messages_for(const DiscoveryOptions& o, const std::string& node, const json& device, const json& availability,
                                  const std::vector<Entity>& entities);

// ---- a station's schema rows (discovery_entities.cpp, discovery_controls.cpp)

// An expanded key's schema row.
struct Row {
    const schema::BlockSchema* block = nullptr;
    const schema::FieldSpec* field = nullptr;
    const schema::GroupSpec* group = nullptr;  // for key_from names
    std::size_t ordinal = 0;                   // position in the block's key templates
};

struct Context {
    const DiscoveryOptions& options;
    const StationInfo& station;
    std::string device_name;
    std::string device_slug;
    std::string id_prefix;  // bluetti_<serial>_
    const std::set<std::string>* writable_controls = nullptr;
};

bool is_numeric(const schema::FieldSpec& f);
bool is_bool(const schema::FieldSpec& f);
// A read-only row: sensor (numeric, enum or text) or binary sensor.
json read_only_component(const Context& ctx, const Row& row, const std::string& key, const std::string& name, const std::string& topic);
// A control row: switch, select or number when the station may write it, else read_only_component.
json control_component(const Context& ctx, const Row& row, const std::string& key, const std::string& name, const std::string& topic);

// ---- diagnostics (discovery.cpp)

bool is_diagnostic_key(std::string_view key);
// The station's link and health entities, in their fixed order; write_failures only when
// something is writable.
void append_diagnostics(const Context& ctx, bool writable, std::vector<Entity>& out);

}  // namespace bluetti::ha::detail
