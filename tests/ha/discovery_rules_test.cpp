// Every discovery payload the bridge can produce, checked against the rules Home Assistant enforces
// (docs/home-assistant.md §1–§7): for each built-in profile, both discovery modes, with and
// without controls, and for the bridge's own device. The rules are written here as data and small
// checks, independently of src/ha/discovery.cpp.
#include <algorithm>
#include <functional>

#include "bluetti/codec/write_whitelist.hpp"
#include "bluetti/ha/discovery.hpp"
#include "ha/ha_support.hpp"

using namespace bluetti;
using json = nlohmann::json;

namespace {

// docs/home-assistant.md §6 as data: (unit, device class) pairs HA accepts for a sensor, with the state
// classes that fit. A missing state class is always accepted; "" = none.
struct Combo {
    std::string unit;
    std::string device_class;
    std::vector<std::string> state_classes;
};
const std::vector<Combo> kCombos = {
    {"W", "power", {"measurement"}},
    {"kW", "power", {"measurement"}},
    {"Wh", "energy", {"total_increasing", "total"}},
    {"kWh", "energy", {"total_increasing", "total"}},
    {"Wh", "energy_storage", {"measurement"}},
    {"kWh", "energy_storage", {"measurement"}},
    {"V", "voltage", {"measurement"}},
    {"A", "current", {"measurement"}},
    {"Hz", "frequency", {"measurement"}},
    {"%", "battery", {"measurement"}},
    {"%", "", {"measurement"}},  // SOH, load, limits: a unit alone makes it numeric
    {"°C", "temperature", {"measurement"}},
    {"min", "duration", {"measurement", "total", "total_increasing"}},
    {"h", "duration", {"measurement", "total", "total_increasing"}},
    {"VA", "apparent_power", {"measurement"}},
    {"dBm", "signal_strength", {"measurement"}},
    {"ms", "duration", {"measurement", "total", "total_increasing"}},
    {"", "timestamp", {}},
    {"", "enum", {}},
    {"", "", {"total_increasing", "total", "measurement"}},  // counters without unit (§7), plain values
};

const std::set<std::string> kDeviceKeys = {"identifiers", "connections", "manufacturer",   "model",
                                           "model_id",    "name",        "serial_number",  "sw_version",
                                           "hw_version",  "via_device",  "suggested_area", "configuration_url"};
const std::set<std::string> kOriginKeys = {"name", "sw_version", "support_url"};
const std::set<std::string> kPlatforms = {"sensor", "binary_sensor", "switch", "select", "number"};
const std::set<std::string> kSharedKeys = {"availability",
                                           "availability_mode",
                                           "availability_template",
                                           "availability_topic",
                                           "payload_available",
                                           "payload_not_available",
                                           "state_topic",
                                           "command_topic",
                                           "qos",
                                           "encoding"};
// Abbreviations and deprecated keys we promise never to send (full key names only).
const std::set<std::string> kForbiddenKeys = {"p",         "uniq_id",    "stat_t", "cmd_t",     "val_tpl", "dev_cla", "unit_of_meas",
                                              "stat_cla",  "avty",       "avty_t", "avty_mode", "ent_cat", "en",      "obj_id",
                                              "object_id", "def_ent_id", "dev",    "o",         "cmps",    "~",       "retain"};
const std::set<std::string> kBinaryClasses = {"battery", "battery_charging", "connectivity", "plug", "power", "problem", "running"};
const std::set<std::string> kDiagnosticKeys = {
    "rssi",        "last_seen",  "polls",           "timeouts",        "crc_errors",    "exceptions",    "latency_ms",
    "unsolicited", "contention", "foreign_replies", "rejected_frames", "confirmations", "write_failures"};

struct Expect {
    std::string prefix = "homeassistant";
    std::string base = "bluetti";
    std::string node;           // bluetti_<serial> or bluetti_bridge_<id>
    std::string unique_prefix;  // bluetti_<serial>_
    std::string device_name;
    std::string via_device;  // "" for the bridge
    bool station = true;
};

struct Checker {
    Expect expect;
    std::set<std::string> unique_ids;
    std::vector<std::string> problems;
    std::size_t components = 0;

    void problem(const std::string& where, const std::string& what) { problems.push_back(where + ": " + what); }

    static bool subscribe_topic_ok(const std::string& t) {
        if (t.empty() || t.size() > 65535) return false;
        if (std::any_of(t.begin(), t.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) return false;
        for (std::size_t i = 0; i < t.size(); ++i) {
            if (t[i] == '+' && ((i > 0 && t[i - 1] != '/') || (i + 1 < t.size() && t[i + 1] != '/'))) return false;
            if (t[i] == '#' && (i + 1 != t.size() || (i > 0 && t[i - 1] != '/'))) return false;
        }
        return true;
    }
    static bool command_topic_ok(const std::string& t) { return subscribe_topic_ok(t) && t.find_first_of("+#") == std::string::npos; }
    static bool only(const std::string& text, std::string_view allowed) {
        return !text.empty() && text.find_first_not_of(allowed) == std::string::npos;
    }
    static std::vector<std::string> levels_of(const std::string& topic) {
        std::vector<std::string> levels;
        for (std::size_t from = 0;;) {
            const auto slash = topic.find('/', from);
            levels.push_back(topic.substr(from, slash == std::string::npos ? std::string::npos : slash - from));
            if (slash == std::string::npos) return levels;
            from = slash + 1;
        }
    }
    // ^<prefix>/(device/ID|(sensor|binary_sensor|switch|select|number)/ID/ID)/config$, ID = [A-Za-z0-9_-]+
    bool discovery_topic_ok(const std::string& topic) const {
        if (topic.rfind(expect.prefix + "/", 0) != 0) return false;
        const auto levels = levels_of(topic.substr(expect.prefix.size() + 1));
        const std::string_view id_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        if (levels.size() == 3) return levels[0] == "device" && only(levels[1], id_chars) && levels[2] == "config";
        return levels.size() == 4 && kPlatforms.count(levels[0]) && only(levels[1], id_chars) && only(levels[2], id_chars) &&
               levels[3] == "config";
    }
    static bool starts_with_ci(std::string a, std::string b) {
        std::transform(a.begin(), a.end(), a.begin(), ::tolower);
        std::transform(b.begin(), b.end(), b.begin(), ::tolower);
        return a.rfind(b, 0) == 0;
    }

    void check_device(const std::string& where, const json& d) {
        if (!d.is_object()) return problem(where, "device is not an object");
        for (const auto& [k, v] : d.items())
            if (!kDeviceKeys.count(k)) problem(where, "device key '" + k + "' rejects the whole config");
        if (!d.contains("identifiers") || !d["identifiers"].is_array() || d["identifiers"].empty())
            problem(where, "device without identifiers");
        else if (d["identifiers"][0] != expect.node)
            problem(where, "device identifier " + d["identifiers"][0].dump() + " is not " + expect.node);
        if (!d.contains("name") || !d["name"].is_string() || d["name"].get<std::string>().empty()) problem(where, "device without name");
        if (expect.station) {
            if (d.value("manufacturer", "") != "BLUETTI") problem(where, "manufacturer is not BLUETTI");
            if (d.value("via_device", "") != expect.via_device) problem(where, "via_device is not " + expect.via_device);
            if (!d.contains("serial_number")) problem(where, "no serial_number");
        }
        if (d.contains("sw_version") && d["sw_version"] == "") problem(where, "empty sw_version");
    }

    void check_origin(const std::string& where, const json& o) {
        if (!o.is_object()) return problem(where, "origin is not an object");
        for (const auto& [k, v] : o.items())
            if (!kOriginKeys.count(k)) problem(where, "origin key '" + k + "' drops the whole message");
        if (o.value("name", "") != "bluetti-bridge") problem(where, "origin name is not bluetti-bridge");
        if (o.contains("support_url")) {
            const std::string url = o["support_url"];
            if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) problem(where, "support_url is not http(s)");
        }
    }

    void check_availability(const std::string& where, const json& c, const std::string& id) {
        if (c.contains("availability") && c.contains("availability_topic")) problem(where, "availability and availability_topic");
        if (!c.contains("availability")) return problem(where, "no availability");
        const json& list = c["availability"];
        if (!list.is_array() || list.empty()) return problem(where, "availability is not a non-empty list");
        for (const auto& a : list) {
            if (!a.is_object() || !a.contains("topic") || !a["topic"].is_string() || !subscribe_topic_ok(a["topic"]))
                problem(where, "bad availability entry " + a.dump());
        }
        const std::string mode = c.value("availability_mode", "latest");
        if (mode != "all" && mode != "any" && mode != "latest") problem(where, "bad availability_mode " + mode);
        const json bridge_only = json::array({{{"topic", expect.base + "/bridge/availability"}}});
        if (!expect.station || kDiagnosticKeys.count(id)) {
            if (list != bridge_only) problem(where, "diagnostics/bridge entity must follow the bridge topic only: " + list.dump());
        } else {
            const json both = json::array({{{"topic", expect.base + "/bridge/availability"}},
                                           {{"topic", expect.base + "/" + expect.node.substr(8) + "/availability"}}});
            if (list != both || mode != "all") problem(where, "entity must list bridge + device availability, mode all");
        }
    }

    void check_sensor_semantics(const std::string& where, const json& c) {
        const std::string unit = c.value("unit_of_measurement", "");
        const std::string dc = c.value("device_class", "");
        const std::string sc = c.value("state_class", "");
        if (c.contains("options")) {
            if (dc != "enum") problem(where, "options without device_class enum");
            if (!c["options"].is_array() || c["options"].empty()) problem(where, "options empty");
            if (!unit.empty() || !sc.empty()) problem(where, "options together with a unit or state class");
        } else if (dc == "enum") {
            problem(where, "device_class enum without options");
        }
        const bool text_sensor = unit.empty() && dc.empty() && sc.empty();
        if (text_sensor) return;
        auto combo = std::find_if(kCombos.begin(), kCombos.end(), [&](const Combo& k) { return k.unit == unit && k.device_class == dc; });
        if (combo == kCombos.end()) return problem(where, "unit '" + unit + "' with device_class '" + dc + "' is not allowed");
        if (!sc.empty() && std::find(combo->state_classes.begin(), combo->state_classes.end(), sc) == combo->state_classes.end())
            problem(where, "state_class '" + sc + "' is impossible for device_class '" + dc + "'");
        // §6, §15.5: a number (a unit, or a device class other than enum/timestamp) without a state
        // class gets no statistics: measurement for values, total_increasing for counters.
        const bool numeric = !unit.empty() || (!dc.empty() && dc != "enum" && dc != "timestamp" && dc != "date");
        if (numeric && sc.empty()) problem(where, "numeric sensor without state_class");
        if (c.contains("suggested_display_precision")) {
            const json& p = c["suggested_display_precision"];
            if (!p.is_number_integer() || p.get<int>() < 0) problem(where, "bad suggested_display_precision");
        }
        if (dc == "energy") {
            if (sc != "total_increasing") problem(where, "energy counter without total_increasing");
            if (c.value("suggested_display_precision", -1) != 1) problem(where, "energy counter without suggested_display_precision 1");
        }
    }

    // One entity's config after the device-level shared keys were merged in.
    void check_entity(const std::string& where, const std::string& id, const json& c) {
        ++components;
        for (const auto& [k, v] : c.items())
            if (kForbiddenKeys.count(k)) problem(where, "key '" + k + "' must not be sent");
        const std::string platform = c.value("platform", "");
        if (!kPlatforms.count(platform)) return problem(where, "bad platform '" + platform + "'");
        if (!only(id, "abcdefghijklmnopqrstuvwxyz0123456789_")) problem(where, "component id with characters outside [a-z0-9_]");

        const std::string uid = c.value("unique_id", "");
        if (uid != expect.unique_prefix + id) problem(where, "unique_id '" + uid + "' is not " + expect.unique_prefix + id);
        if (!unique_ids.insert(uid).second) problem(where, "unique_id used twice: " + uid);

        if (!c.contains("name") || !c["name"].is_string() || c["name"].get<std::string>().empty()) {
            problem(where, "no name");
        } else if (starts_with_ci(c["name"].get<std::string>(), expect.device_name)) {
            problem(where, "name '" + c["name"].get<std::string>() + "' starts with the device name");
        }
        const std::string entity_id = c.value("default_entity_id", "");
        if (entity_id.rfind(platform + ".", 0) != 0 ||
            !only(entity_id.substr(platform.size() + 1), "abcdefghijklmnopqrstuvwxyz0123456789_"))
            problem(where, "bad default_entity_id " + entity_id);

        check_availability(where, c, id);
        if (c.contains("qos") && (!c["qos"].is_number_integer() || c["qos"].get<int>() < 0 || c["qos"].get<int>() > 2))
            problem(where, "bad qos");
        if (c.contains("entity_category")) {
            const std::string cat = c["entity_category"];
            if (cat != "config" && cat != "diagnostic") problem(where, "bad entity_category " + cat);
            if (cat == "config" && (platform == "sensor" || platform == "binary_sensor")) problem(where, "config category on a sensor");
        }
        if (c.contains("enabled_by_default") && !c["enabled_by_default"].is_boolean()) problem(where, "enabled_by_default not a boolean");

        if (c.contains("state_topic") && (!c["state_topic"].is_string() || !subscribe_topic_ok(c["state_topic"])))
            problem(where, "bad state_topic");
        if (c.contains("command_topic") && (!c["command_topic"].is_string() || !command_topic_ok(c["command_topic"])))
            problem(where, "bad command_topic");
        const bool reads = platform == "sensor" || platform == "binary_sensor";
        if (reads && !c.contains("state_topic")) problem(where, "no state_topic");
        if (!reads && !c.contains("command_topic")) problem(where, "no command_topic");
        if (!reads && c.value("command_topic", "") != expect.base + "/" + expect.node.substr(8) + "/set/" + id)
            problem(where, "command_topic is not <base>/<serial>/set/<key>");
        if (c.contains("value_template")) {
            const std::string t = c["value_template"];
            if (t.find("value_json." + id) == std::string::npos) problem(where, "value_template does not read its key");
            for (const char* bad : {"float(0)", "int(0)", "default(0)"})
                if (t.find(bad) != std::string::npos) problem(where, std::string("value_template turns unknown into 0: ") + bad);
        }

        if (platform == "sensor") {
            check_sensor_semantics(where, c);
        } else if (c.contains("options") && platform != "select") {
            problem(where, "options on a " + platform);
        }
        if (platform == "binary_sensor" || platform == "switch") {
            if (c.value("payload_on", "ON") != "ON" || c.value("payload_off", "OFF") != "OFF") problem(where, "payloads are not ON/OFF");
        }
        if (platform == "binary_sensor" && c.contains("device_class") && !kBinaryClasses.count(c["device_class"].get<std::string>()))
            problem(where, "unknown binary_sensor device_class");
        if (platform == "switch" && c.contains("device_class") && c["device_class"] != "switch" && c["device_class"] != "outlet")
            problem(where, "switch device_class must be switch or outlet");
        if (platform == "select") {
            const json& o = c.value("options", json());
            std::set<std::string> distinct;
            if (o.is_array())
                for (const auto& s : o)
                    if (s.is_string()) distinct.insert(s);
            if (!o.is_array() || distinct.size() < 2 || distinct.size() != o.size()) problem(where, "select needs 2+ distinct options");
        }
        if (platform == "number") {
            const double min = c.value("min", 0.0), max = c.value("max", 100.0), step = c.value("step", 1.0);
            if (max < min) problem(where, "max < min");
            if (step < 0.001) problem(where, "step < 0.001");
            const std::string mode = c.value("mode", "auto");
            if (mode != "auto" && mode != "box" && mode != "slider") problem(where, "bad number mode");
        }
    }

    void check_message(const ha::Message& m, ha::DiscoveryMode mode) {
        const std::string& where = m.topic;
        if (!discovery_topic_ok(m.topic)) problem(where, "topic HA never receives or ignores");
        const json payload = json::parse(m.payload, nullptr, false);
        if (payload.is_discarded() || !payload.is_object()) return problem(where, "payload is not a JSON object");
        if (!payload.contains("device"))
            problem(where, "no device");
        else
            check_device(where, payload["device"]);
        if (!payload.contains("origin"))
            problem(where, "no origin");
        else
            check_origin(where, payload["origin"]);

        if (mode == ha::DiscoveryMode::device) {
            if (m.topic != expect.prefix + "/device/" + expect.node + "/config") problem(where, "not the device topic");
            if (!payload.contains("components") || !payload["components"].is_object() || payload["components"].empty())
                return problem(where, "no components");
            for (const auto& [id, component] : payload["components"].items()) {
                if (id.find(' ') != std::string::npos) problem(where, "component id with a space: " + id);
                json merged = component;
                for (const std::string& k : kSharedKeys)
                    if (payload.contains(k) && !merged.contains(k)) merged[k] = payload[k];
                // a component that sets availability_topic while the top level has availability: both (rejected)
                if (component.contains("availability_topic") && payload.contains("availability"))
                    merged["availability"] = payload["availability"];
                check_entity(where + " " + id, id, merged);
            }
        } else {
            const std::string platform = payload.value("platform", "");
            const auto levels = levels_of(m.topic);
            const std::string id = levels.size() >= 2 ? levels[levels.size() - 2] : "";
            if (m.topic != expect.prefix + "/" + platform + "/" + expect.node + "/" + id + "/config")
                problem(where, "topic does not match platform/node/key");
            check_entity(where, id, payload);
        }
    }
};

ha::StationInfo station_for(const profile::Profile& p, std::string serial) {
    ha::StationInfo s;
    s.serial = std::move(serial);
    s.name = "Garage " + p.display_name;
    s.model_name = p.display_name;
    s.model_id = p.cloud_model;
    s.sw_version = p.model == "AP300" ? "ARM 2204.15, DSP 2174.17" : "";
    return s;
}

struct ModeCase {
    ha::DiscoveryMode mode;
    const char* name;
};
constexpr ModeCase kModes[] = {{ha::DiscoveryMode::device, "device"}, {ha::DiscoveryMode::entity, "entity"}};

}  // namespace

TEST_CASE("discovery payloads of every built-in profile follow Home Assistant's rules") {
    for (const profile::Profile* p : test::profiles().all()) {
        const std::set<std::string> keys = test::station_keys(p->model);
        for (const ModeCase& mode : kModes) {
            for (bool controls : {true, false}) {
                for (const auto& [prefix_, base] : {std::pair{"homeassistant", "bluetti"}, std::pair{"ha-test_1", "bt"}}) {
                    const char* const prefix = prefix_;  // a named copy: clang 14 cannot capture a structured binding
                    CAPTURE(p->model);
                    CAPTURE(mode.name);
                    CAPTURE(controls);
                    CAPTURE(prefix);
                    ha::DiscoveryOptions options;
                    options.prefix = prefix;
                    options.base = base;
                    options.mode = mode.mode;
                    options.bridge_id = "pi";
                    const ha::StationInfo station = station_for(*p, "2345EB200XXXXXXX");
                    const ha::EntityInput input{&test::registry_for(p->model), keys, {}, controls, test::controls_for(p->model)};
                    const auto entities = ha::station_entities(options, station, input);
                    const auto messages = ha::station_discovery(options, station, entities);

                    Checker checker;
                    checker.expect = {
                        prefix, base, "bluetti_2345EB200XXXXXXX", "bluetti_2345EB200XXXXXXX_", station.name, "bluetti_bridge_pi", true};
                    for (const auto& m : messages) checker.check_message(m, mode.mode);
                    for (const auto& problem : checker.problems) FAIL_CHECK(problem);
                    CHECK(checker.problems.empty());
                    CHECK(checker.components == entities.size());
                    CHECK(messages.size() == (mode.mode == ha::DiscoveryMode::device ? 1u : entities.size()));

                    // the station's controls come and go with `controls`; diagnostics are always there
                    const bool has_switch =
                        std::any_of(entities.begin(), entities.end(), [](const ha::Entity& e) { return e.platform == "switch"; });
                    CHECK(has_switch == controls);
                    for (const std::string& diag : kDiagnosticKeys)
                        if (controls || diag != "write_failures")
                            CHECK(std::any_of(entities.begin(), entities.end(), [&](const ha::Entity& e) { return e.key == diag; }));

                    // deterministic: the same input gives byte-identical payloads
                    const auto again = ha::station_discovery(options, station, ha::station_entities(options, station, input));
                    REQUIRE(again.size() == messages.size());
                    for (std::size_t i = 0; i < messages.size(); ++i) {
                        CHECK(again[i].topic == messages[i].topic);
                        CHECK(again[i].payload == messages[i].payload);
                    }
                }
            }
        }
    }
}

TEST_CASE("the bridge device follows Home Assistant's rules") {
    struct Case {
        std::string bridge_id;
        std::string node;
    };
    const Case cases[] = {
        {"bluetti-bridge", "bluetti_bridge_bluetti-bridge"},
        {"pi", "bluetti_bridge_pi"},
        {"my bridge/#1+", "bluetti_bridge_my_bridge__1_"},
    };
    for (const Case& c : cases) {
        for (const ModeCase& mode : kModes) {
            CAPTURE(c.bridge_id);
            CAPTURE(mode.name);
            ha::DiscoveryOptions options;
            options.mode = mode.mode;
            options.bridge_id = c.bridge_id;
            const auto messages = ha::bridge_discovery(options);
            Checker checker;
            checker.expect = {"homeassistant", "bluetti", c.node, c.node + "_", "Bluetti bridge", "", false};
            for (const auto& m : messages) checker.check_message(m, mode.mode);
            for (const auto& problem : checker.problems) FAIL_CHECK(problem);
            CHECK(checker.components == 4);
            CHECK(messages.size() == (mode.mode == ha::DiscoveryMode::device ? 1u : 4u));

            const json first = json::parse(messages.front().payload);
            CHECK(first["device"] ==
                  json{{"identifiers", {c.node}}, {"name", "Bluetti bridge"}, {"manufacturer", "bluetti-bridge"}, {"sw_version", "0.1.0"}});
            if (mode.mode == ha::DiscoveryMode::device) {
                const json& comps = first["components"];
                CHECK(comps["cloud_connected"]["platform"] == "binary_sensor");
                CHECK(comps["cloud_connected"]["device_class"] == "connectivity");
                CHECK(comps["reconnects"]["state_class"] == "total_increasing");
                CHECK(comps["session_conflicts"]["state_class"] == "total_increasing");
                CHECK(comps["version"]["platform"] == "sensor");
                for (const auto& [k, v] : comps.items()) {
                    CHECK(v["entity_category"] == "diagnostic");
                    CHECK(v["state_topic"] == "bluetti/bridge/state");
                }
            }
        }
    }
    ha::DiscoveryOptions none;
    none.mode = ha::DiscoveryMode::none;
    CHECK(ha::bridge_discovery(none).empty());
}

// A setting (a control that is a `config` entity when writable: eco thresholds, charge and feed-in
// limits) on a station that may not be written through is shown as a sensor. HA refuses `config`
// on a sensor (§3), so it is diagnostic, and a numeric one carries state class measurement (§6).
// Its unique_id and state topic are those of the writable entity, so switching writes on or off
// keeps the entity's history.
TEST_CASE("settings shown read-only are diagnostic sensors with a state class, under the same id") {
    std::set<std::string> every_control;
    for (const auto& w : codec::writable_registers()) every_control.insert(std::string(w.key));
    std::size_t numeric_settings = 0;
    for (const profile::Profile* p : test::profiles().all()) {
        CAPTURE(p->model);
        const ha::DiscoveryOptions options;
        const ha::StationInfo station = station_for(*p, "2345EB200XXXXXXX");
        const std::set<std::string> keys = test::station_keys(p->model);
        const auto writable =
            ha::station_entities(options, station, ha::EntityInput{&test::registry_for(p->model), keys, {}, true, every_control});
        const auto read_only = ha::station_entities(options, station, ha::EntityInput{&test::registry_for(p->model), keys, {}, true, {}});
        for (const ha::Entity& w : writable) {
            if (w.component.value("entity_category", "") != "config") continue;
            CAPTURE(w.key);
            auto r = std::find_if(read_only.begin(), read_only.end(), [&](const ha::Entity& e) { return e.key == w.key; });
            REQUIRE(r != read_only.end());
            const auto& c = r->component;
            CHECK((r->platform == "sensor" || r->platform == "binary_sensor"));
            CHECK(c.value("entity_category", "") == "diagnostic");
            CHECK(c.value("unique_id", "") == w.component.value("unique_id", "-"));
            CHECK(c.value("state_topic", "") == w.component.value("state_topic", "-"));
            if (w.platform == "number") {
                ++numeric_settings;
                CHECK(c.value("state_class", "") == "measurement");
                CHECK(c.value("unit_of_measurement", "") == w.component.value("unit_of_measurement", ""));
            }
        }
    }
    CHECK(numeric_settings > 0);  // the loop above checked something
}

TEST_CASE("discovery: mode none publishes nothing, excluded keys and entity-none rows are left out") {
    ha::DiscoveryOptions options;
    const ha::StationInfo station = station_for(*test::profiles().find("AP300"), "2616113487436");
    const std::set<std::string> keys = test::station_keys("AP300");
    const ha::EntityInput input{
        &test::registry_for("AP300"), keys, {"pack_soc", "battery_pack{n}_cell{i}_voltage"}, true, test::controls_for("AP300")};
    const auto entities = ha::station_entities(options, station, input);
    auto has = [&](const std::string& key) {
        return std::any_of(entities.begin(), entities.end(), [&](const ha::Entity& e) { return e.key == key; });
    };
    CHECK(has("ac_output_power"));
    CHECK_FALSE(has("pack_soc"));                     // excluded by key
    CHECK_FALSE(has("battery_pack2_cell7_voltage"));  // excluded by row template
    CHECK(has("battery_pack2_cell_voltage_min"));
    CHECK_FALSE(has("pack_aging_bits"));  // entity none: state topic only
    CHECK_FALSE(has("charging_mode_status"));
    CHECK(has("firmware_dc_hub_version"));  // key_from name with an underscore
    CHECK(has("battery_pack2_firmware_dc_hub_version"));

    options.mode = ha::DiscoveryMode::none;
    CHECK(ha::station_discovery(options, station, entities).empty());
}

TEST_CASE("the rule checker itself catches each kind of mistake") {
    // A good device config, then one mutation per row: the checker must object to every one.
    const ha::StationInfo station = station_for(*test::profiles().find("EL100V2"), "2345EB200XXXXXXX");
    ha::DiscoveryOptions options;
    options.bridge_id = "pi";
    const ha::EntityInput input{&test::registry_for("EL100V2"),
                                {"pack_soc", "pv_energy", "ac_output_switch", "charging_status"},
                                {},
                                true,
                                test::controls_for("EL100V2")};
    const ha::Message good = ha::station_discovery(options, station, ha::station_entities(options, station, input)).at(0);
    const Expect expect{"homeassistant",     "bluetti", "bluetti_2345EB200XXXXXXX", "bluetti_2345EB200XXXXXXX_", station.name,
                        "bluetti_bridge_pi", true};

    struct Mutation {
        const char* name;
        std::function<void(json&, std::string&)> apply;
    };
    const Mutation mutations[] = {
        {"unknown device key", [](json& p, std::string&) { p["device"]["ip"] = "10.0.0.2"; }},
        {"unknown origin key", [](json& p, std::string&) { p["origin"]["url"] = "x"; }},
        {"no identifiers", [](json& p, std::string&) { p["device"].erase("identifiers"); }},
        {"config category on a sensor", [](json& p, std::string&) { p["components"]["pack_soc"]["entity_category"] = "config"; }},
        {"options with a unit", [](json& p, std::string&) { p["components"]["charging_status"]["unit_of_measurement"] = "%"; }},
        {"unit not fitting", [](json& p, std::string&) { p["components"]["pack_soc"]["unit_of_measurement"] = "V"; }},
        {"impossible state class", [](json& p, std::string&) { p["components"]["pv_energy"]["state_class"] = "measurement"; }},
        {"both availability forms", [](json& p, std::string&) { p["components"]["pack_soc"]["availability_topic"] = "bluetti/x"; }},
        {"wildcard command topic",
         [](json& p, std::string&) { p["components"]["ac_output_switch"]["command_topic"] = "bluetti/+/set/ac_output_switch"; }},
        {"duplicate unique_id",
         [](json& p, std::string&) { p["components"]["pv_energy"]["unique_id"] = "bluetti_2345EB200XXXXXXX_pack_soc"; }},
        {"name starting with the device name",
         [&](json& p, std::string&) { p["components"]["pack_soc"]["name"] = station.name + " battery"; }},
        {"abbreviated key", [](json& p, std::string&) { p["components"]["pack_soc"]["stat_t"] = "x"; }},
        {"zero default in a template",
         [](json& p, std::string&) { p["components"]["pack_soc"]["value_template"] = "{{ value_json.pack_soc | float(0) }}"; }},
        {"component id with a space", [](json& p, std::string&) { p["components"]["pack soc"] = p["components"]["pack_soc"]; }},
        {"illegal node id", [](json&, std::string& topic) { topic = "homeassistant/device/bluetti 2345/config"; }},
        {"wrong availability mode", [](json& p, std::string&) { p["availability_mode"] = "latest"; }},
        {"energy without precision 1", [](json& p, std::string&) { p["components"]["pv_energy"].erase("suggested_display_precision"); }},
        {"battery level without state class", [](json& p, std::string&) { p["components"]["pack_soc"].erase("state_class"); }},
        {"counter without state class", [](json& p, std::string&) { p["components"]["pv_energy"].erase("state_class"); }},
    };
    {
        Checker clean;
        clean.expect = expect;
        clean.check_message(good, ha::DiscoveryMode::device);
        CHECK(clean.problems.empty());
    }
    for (const Mutation& m : mutations) {
        const std::string mutation = m.name;
        CAPTURE(mutation);
        json payload = json::parse(good.payload);
        std::string topic = good.topic;
        m.apply(payload, topic);
        Checker checker;
        checker.expect = expect;
        checker.check_message({topic, payload.dump()}, ha::DiscoveryMode::device);
        CHECK_FALSE(checker.problems.empty());
    }
}
