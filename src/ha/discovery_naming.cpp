// Names, ids and topics of discovery (docs/home-assistant.md §2.3, §3), the device blocks (§4), and the
// configs as retained messages in device or entity mode.
#include <algorithm>

#include "discovery_parts.hpp"

namespace bluetti::ha::detail {

namespace {

bool is_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
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

json origin_block(const DiscoveryOptions& o) {
    json origin{{"name", "bluetti-bridge"}};
    if (!o.version.empty()) origin["sw_version"] = o.version;
    return origin;
}

}  // namespace

// Node and object ids of discovery topics: only [A-Za-z0-9_-] (§2.3).
std::string topic_id(std::string_view text) {
    std::string out;
    for (char c : text) out.push_back(is_id_char(c) ? c : '_');
    return out;
}

std::string bridge_node(const DiscoveryOptions& o) {
    return "bluetti_bridge_" + topic_id(o.bridge_id.empty() ? std::string_view("bluetti-bridge") : std::string_view(o.bridge_id));
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

}  // namespace bluetti::ha::detail
