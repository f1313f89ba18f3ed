// What the discovery builder says about particular entities: docs/home-assistant.md Appendix A for an
// Elite 100 V2, platform and semantics of each kind of row, names and entity ids.
#include "bluetti/ha/discovery.hpp"
#include "ha/ha_support.hpp"

using namespace bluetti;
using json = nlohmann::json;

namespace {

// docs/home-assistant.md Appendix A, verbatim.
constexpr const char* kAppendixA = R"({
  "device": {"identifiers": ["bluetti_2345EB200XXXXXXX"], "name": "Garage Elite 100",
             "manufacturer": "BLUETTI", "model": "Elite 100 V2", "model_id": "EL100V2",
             "serial_number": "2345EB200XXXXXXX", "sw_version": "ARM 4011.05",
             "via_device": "bluetti_bridge_pi"},
  "origin": {"name": "bluetti-bridge", "sw_version": "0.1.0"},
  "availability": [{"topic": "bluetti/bridge/availability"},
                   {"topic": "bluetti/2345EB200XXXXXXX/availability"}],
  "availability_mode": "all",
  "qos": 1,
  "components": {
    "pack_soc": {"platform": "sensor", "unique_id": "bluetti_2345EB200XXXXXXX_pack_soc",
      "default_entity_id": "sensor.garage_elite_100_pack_soc", "name": "Battery",
      "state_topic": "bluetti/2345EB200XXXXXXX/home_data", "value_template": "{{ value_json.pack_soc }}",
      "device_class": "battery", "unit_of_measurement": "%", "state_class": "measurement"},
    "pv_energy": {"platform": "sensor", "unique_id": "bluetti_2345EB200XXXXXXX_pv_energy",
      "default_entity_id": "sensor.garage_elite_100_pv_energy", "name": "Solar energy",
      "state_topic": "bluetti/2345EB200XXXXXXX/home_data",
      "value_template": "{{ value_json.pv_energy }}", "device_class": "energy",
      "unit_of_measurement": "kWh", "state_class": "total_increasing", "suggested_display_precision": 1},
    "ac_output_switch": {"platform": "switch", "unique_id": "bluetti_2345EB200XXXXXXX_ac_output_switch",
      "default_entity_id": "switch.garage_elite_100_ac_output_switch", "name": "AC output",
      "device_class": "outlet", "state_topic": "bluetti/2345EB200XXXXXXX/inv_base_settings",
      "value_template": "{{ value_json.ac_output_switch }}",
      "command_topic": "bluetti/2345EB200XXXXXXX/set/ac_output_switch"},
    "rssi": {"platform": "sensor", "unique_id": "bluetti_2345EB200XXXXXXX_rssi",
      "default_entity_id": "sensor.garage_elite_100_rssi", "name": "Signal strength",
      "entity_category": "diagnostic", "state_topic": "bluetti/2345EB200XXXXXXX/diagnostics",
      "value_template": "{{ value_json.rssi }}", "device_class": "signal_strength",
      "unit_of_measurement": "dBm", "state_class": "measurement",
      "availability": [{"topic": "bluetti/bridge/availability"}]}
  }
})";

ha::StationInfo garage_elite() {
    return {"2345EB200XXXXXXX", "Garage Elite 100", "Elite 100 V2", "EL100V2", "ARM 4011.05"};
}

ha::DiscoveryOptions pi_options(ha::DiscoveryMode mode = ha::DiscoveryMode::device) {
    ha::DiscoveryOptions o;
    o.bridge_id = "pi";
    o.version = "0.1.0";
    o.mode = mode;
    return o;
}

// The components of one station (device mode), by key.
json components_of(const std::string& model, const ha::StationInfo& station, bool controls = true) {
    const ha::EntityInput input{&test::registry_for(model), test::station_keys(model), {}, controls, test::controls_for(model)};
    const auto messages = ha::station_discovery(pi_options(), station, ha::station_entities(pi_options(), station, input));
    REQUIRE(messages.size() == 1);
    return json::parse(messages[0].payload)["components"];
}

}  // namespace

TEST_CASE("Appendix A: an Elite 100 V2 named Garage Elite 100 comes out as the worked example") {
    const json expected = json::parse(kAppendixA);
    const ha::StationInfo station = garage_elite();
    const ha::EntityInput input{&test::registry_for("EL100V2"), test::station_keys("EL100V2"), {}, true, test::controls_for("EL100V2")};
    const auto messages = ha::station_discovery(pi_options(), station, ha::station_entities(pi_options(), station, input));
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].topic == "homeassistant/device/bluetti_2345EB200XXXXXXX/config");
    const json got = json::parse(messages[0].payload);

    for (const char* key : {"device", "origin", "availability", "availability_mode", "qos"}) {
        CAPTURE(key);
        CHECK(got[key] == expected[key]);
    }
    // Deliberate differences from the example: the value template adds `| default(None)` (the state
    // JSON leaves absent keys out; "None" is HA's unknown), and switches spell out HA's default
    // payloads. Everything else is equal key for key.
    const json allowed_extras = {{"payload_on", "ON"}, {"payload_off", "OFF"}};
    // Named copies, not structured bindings: clang 14 cannot capture those (CAPTURE, lambdas).
    for (const auto& component : expected["components"].items()) {
        const std::string& id = component.key();
        const json& want = component.value();
        CAPTURE(id);
        REQUIRE(got["components"].contains(id));
        const json& have = got["components"][id];
        for (const auto& item : want.items()) {
            const std::string& k = item.key();
            const json& v = item.value();
            CAPTURE(k);
            REQUIRE(have.contains(k));
            if (k == "value_template") {
                std::string t = v.get<std::string>();
                t.replace(t.rfind(" }}"), 3, " | default(None) }}");
                CHECK(have[k] == t);
            } else {
                CHECK(have[k] == v);
            }
        }
        for (const auto& item : have.items()) {
            const std::string& k = item.key();
            const json& v = item.value();
            CAPTURE(k);
            if (want.contains(k)) continue;
            CHECK(allowed_extras.contains(k));
            CHECK(allowed_extras.value(k, json()) == v);
        }
    }
}

TEST_CASE("Appendix A in entity mode: one config per entity with the same substance") {
    const ha::StationInfo station = garage_elite();
    const auto options = pi_options(ha::DiscoveryMode::entity);
    const ha::EntityInput input{&test::registry_for("EL100V2"), test::station_keys("EL100V2"), {}, true, test::controls_for("EL100V2")};
    const auto entities = ha::station_entities(options, station, input);
    const auto messages = ha::station_discovery(options, station, entities);
    const json expected = json::parse(kAppendixA);
    const std::map<std::string, std::string> topics = {
        {"pack_soc", "homeassistant/sensor/bluetti_2345EB200XXXXXXX/pack_soc/config"},
        {"ac_output_switch", "homeassistant/switch/bluetti_2345EB200XXXXXXX/ac_output_switch/config"},
        {"rssi", "homeassistant/sensor/bluetti_2345EB200XXXXXXX/rssi/config"},
    };
    for (const auto& [key_, topic_] : topics) {
        const std::string& key = key_;  // named copies: clang 14 cannot capture structured bindings
        const std::string& topic = topic_;
        CAPTURE(key);
        auto it = std::find_if(messages.begin(), messages.end(), [&](const ha::Message& m) { return m.topic == topic; });
        REQUIRE(it != messages.end());
        const json got = json::parse(it->payload);
        CHECK(got["device"] == expected["device"]);
        CHECK(got["origin"] == expected["origin"]);
        CHECK(got["availability_mode"] == "all");
        const json& want = expected["components"][key];
        CHECK(got["availability"] == want.value("availability", expected["availability"]));
        CHECK(got["unique_id"] == want["unique_id"]);
        CHECK(got["name"] == want["name"]);
        CHECK(got["state_topic"] == want["state_topic"]);
    }
}

TEST_CASE("entities: platform and semantics per kind of row") {
    const json c = components_of("AP300", {"2616113487436", "Apex", "Apex 300", "AP300", ""});
    struct Row {
        const char* key;
        json subset;                      // keys that must have these values
        std::vector<const char*> absent;  // keys that must not be there
    };
    const Row rows[] = {
        {"charging_mode",
         {{"platform", "select"},
          {"options", {"standard", "silent", "turbo"}},
          {"command_topic", "bluetti/2616113487436/set/charging_mode"},
          {"state_topic", "bluetti/2616113487436/inv_base_settings"}},
         {"entity_category", "unit_of_measurement"}},
        {"soc_charge_limit",
         {{"platform", "number"},
          {"min", 1},
          {"max", 100},
          {"step", 1},
          {"mode", "box"},
          {"unit_of_measurement", "%"},
          {"entity_category", "config"},
          {"command_topic", "bluetti/2616113487436/set/soc_charge_limit"}},
         {}},
        {"grid_charge_power_limit",
         {{"platform", "number"},
          {"min", 300},
          {"max", 6000},
          {"unit_of_measurement", "W"},
          {"entity_category", "config"},
          {"state_topic", "bluetti/2616113487436/inv_adv_settings"}},
         {}},
        {"dc_eco_off_time",
         {{"platform", "number"}, {"min", 1}, {"max", 4}, {"unit_of_measurement", "h"}, {"entity_category", "config"}},
         {}},
        {"ac_output_switch",
         {{"platform", "switch"}, {"device_class", "outlet"}, {"payload_on", "ON"}, {"payload_off", "OFF"}},
         {"entity_category"}},
        {"dc_output_switch", {{"platform", "switch"}, {"device_class", "outlet"}, {"name", "DC output"}}, {"entity_category"}},
        {"grid_charge_switch", {{"platform", "switch"}, {"device_class", "switch"}}, {"entity_category"}},
        {"dc_eco_switch", {{"platform", "switch"}, {"device_class", "switch"}, {"entity_category", "config"}}, {}},
        {"charging_status",
         {{"platform", "sensor"},
          {"device_class", "enum"},
          {"options", {"standby", "charging", "discharging", "idle", "charging_ac", "charging_pv"}}},
         {"unit_of_measurement", "state_class", "suggested_display_precision"}},
        {"bms_charging_status", {{"device_class", "enum"}, {"entity_category", "diagnostic"}}, {"state_class"}},
        {"battery_pack2_cell11_voltage",
         {{"platform", "sensor"},
          {"name", "Pack 2 cell 11 voltage"},
          {"unit_of_measurement", "V"},
          {"device_class", "voltage"},
          {"suggested_display_precision", 3},
          {"entity_category", "diagnostic"},
          {"state_topic", "bluetti/2616113487436/pack_cells"}},
         {"enabled_by_default"}},
        {"battery_pack1_ntc3_temperature",
         {{"name", "Pack 1 NTC 3 temperature"}, {"unit_of_measurement", "°C"}},
         {"suggested_display_precision"}},
        {"inverter_power", {{"enabled_by_default", false}, {"device_class", "power"}}, {"suggested_display_precision"}},
        {"pv_energy", {{"device_class", "energy"}, {"state_class", "total_increasing"}, {"suggested_display_precision", 1}}, {}},
        {"bms_charge_energy", {{"state_class", "total_increasing"}, {"suggested_display_precision", 1}, {"enabled_by_default", false}}, {}},
        {"pack_voltage", {{"suggested_display_precision", 2}}, {}},  // AP300: 0.01 V override
        {"rated_voltage",
         {{"device_class", "voltage"}, {"unit_of_measurement", "V"}, {"entity_category", "diagnostic"}, {"state_class", "measurement"}},
         {}},
        // not among AP300's controls: a setting shown read-only, a diagnostic sensor with a state class
        {"dc_eco_power_threshold",
         {{"platform", "sensor"},
          {"device_class", "power"},
          {"unit_of_measurement", "W"},
          {"state_class", "measurement"},
          {"entity_category", "diagnostic"}},
         {"command_topic"}},
        {"bms_soh", {{"unit_of_measurement", "%"}, {"state_class", "measurement"}}, {"device_class"}},
        {"firmware_arm_version",
         {{"name", "Firmware arm"}, {"entity_category", "diagnostic"}},
         {"unit_of_measurement", "state_class", "device_class"}},
        {"firmware_dc_hub_version", {{"name", "Firmware dc_hub"}}, {}},
        {"battery_pack2_firmware_bms_version",
         {{"name", "Pack 2 firmware bms"}, {"state_topic", "bluetti/2616113487436/pack_item_info"}},
         {}},
        {"device_serial", {{"entity_category", "diagnostic"}}, {"unit_of_measurement", "suggested_display_precision"}},
        {"rssi", {{"device_class", "signal_strength"}, {"unit_of_measurement", "dBm"}, {"state_class", "measurement"}}, {}},
        {"last_seen", {{"device_class", "timestamp"}, {"entity_category", "diagnostic"}}, {"unit_of_measurement", "state_class"}},
        {"polls", {{"state_class", "total_increasing"}}, {"device_class", "unit_of_measurement"}},
        {"crc_errors", {{"state_class", "total_increasing"}, {"name", "CRC errors"}}, {"device_class"}},
        {"exceptions", {{"state_class", "total_increasing"}}, {"device_class"}},
        {"latency_ms",
         {{"device_class", "duration"},
          {"unit_of_measurement", "ms"},
          {"state_class", "measurement"},
          {"availability", {{{"topic", "bluetti/bridge/availability"}}}}},
         {}},
    };
    for (const Row& row : rows) {
        CAPTURE(row.key);
        REQUIRE(c.contains(row.key));
        const json& have = c[row.key];
        CHECK(have["unique_id"] == std::string("bluetti_2616113487436_") + row.key);
        CHECK(have["value_template"] == std::string("{{ value_json.") + row.key + " | default(None) }}");
        for (const auto& item : row.subset.items()) {
            const std::string& k = item.key();
            const json& v = item.value();
            CAPTURE(k);
            CHECK(have.value(k, json()) == v);
        }
        for (const char* k : row.absent) {
            CAPTURE(k);
            CHECK_FALSE(have.contains(k));
        }
    }
    // AP300 pushes no dc_eco_power_threshold control by profile, but the schema row exists: a key
    // that is present becomes an entity; a key no row produces is ignored.
    CHECK(c.contains("dc_eco_power_threshold"));
    CHECK_FALSE(c.contains("charging_mode_status"));
}

TEST_CASE("entities: names never start with the station name, entity ids from the station name") {
    struct Case {
        std::string station;
        std::string key;
        std::string name;
        std::string entity_id;
    };
    const Case cases[] = {
        {"Garage Elite 100", "pack_soc", "Battery", "sensor.garage_elite_100_pack_soc"},
        {"Battery", "pack_soc", "Pack soc", "sensor.battery_pack_soc"},         // name = station name: the key's words
        {"Battery", "pack_voltage", "Voltage", "sensor.battery_pack_voltage"},  // "Battery voltage" minus "Battery"
        {"battery", "bms_soh", "Health", "sensor.battery_bms_soh"},             // case-insensitive
        {"Bat", "pack_voltage", "Battery voltage", "sensor.bat_pack_voltage"},  // not a whole word: kept
        {"Solar", "pv_power", "Power", "sensor.solar_pv_power"},
        {"  My--Station!! ", "pv_power", "Solar power", "sensor.my_station_pv_power"},
        {"", "pv_power", "Solar power", "sensor.bluetti_apex_300_pv_power"},  // no name: BLUETTI <model>
        {"Signal", "rssi", "Strength", "sensor.signal_rssi"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.station);
        CAPTURE(c.key);
        ha::StationInfo station{"2616113487436", c.station, "Apex 300", "AP300", ""};
        const ha::EntityInput input{&test::registry_for("AP300"), {c.key}, {}, true, test::controls_for("AP300")};
        const auto entities = ha::station_entities(pi_options(), station, input);
        auto it = std::find_if(entities.begin(), entities.end(), [&](const ha::Entity& e) { return e.key == c.key; });
        REQUIRE(it != entities.end());
        CHECK(it->component["name"] == c.name);
        CHECK(it->component["default_entity_id"] == c.entity_id);
    }
}

TEST_CASE("entities: a station without schemas or present keys still has its diagnostics") {
    const ha::StationInfo station = garage_elite();
    const auto entities = ha::station_entities(pi_options(), station, ha::EntityInput{});
    std::vector<std::string> keys;
    for (const auto& e : entities) keys.push_back(e.key);
    CHECK(keys == std::vector<std::string>{"rssi", "last_seen", "polls", "timeouts", "crc_errors", "exceptions", "latency_ms",
                                           "unsolicited", "foreign_replies", "rejected_frames", "confirmations", "contention"});
    for (const auto& e : entities) {
        CHECK(e.platform == (e.key == "contention" ? "binary_sensor" : "sensor"));
        CHECK(e.component["entity_category"] == "diagnostic");
        CHECK(e.component["state_topic"] == "bluetti/2345EB200XXXXXXX/diagnostics");
    }
    // unknown keys (no schema row) are ignored; a station with writable controls also counts failed writes
    const ha::EntityInput input{&test::registry_for("EL100V2"),
                                {"no_such_key", "pack_soc_extra", "battery_pack1_cell_voltage"},
                                {},
                                true,
                                test::controls_for("EL100V2")};
    const auto with_controls = ha::station_entities(pi_options(), station, input);
    REQUIRE(with_controls.size() == 13);
    CHECK(with_controls.back().key == "write_failures");
}

TEST_CASE("entities: sorted by block and row, cells in natural order") {
    const ha::EntityInput input{
        &test::registry_for("AP300"),
        {"battery_pack1_cell10_voltage", "battery_pack1_cell2_voltage", "pack_soc", "grid_frequency", "ac_output_switch"},
        {},
        true,
        test::controls_for("AP300")};
    const auto entities = ha::station_entities(pi_options(), garage_elite(), input);
    std::vector<std::string> keys;
    for (const auto& e : entities) keys.push_back(e.key);
    keys.resize(5);
    CHECK(keys == std::vector<std::string>{"pack_soc", "grid_frequency", "ac_output_switch", "battery_pack1_cell2_voltage",
                                           "battery_pack1_cell10_voltage"});
}

TEST_CASE("state_topic: <base>/<serial>/<name>") {
    ha::DiscoveryOptions o;
    o.base = "bt";
    CHECK(ha::state_topic(o, "2345EB200XXXXXXX", "home_data") == "bt/2345EB200XXXXXXX/home_data");
    CHECK(ha::state_topic(o, "2345EB200XXXXXXX", "diagnostics") == "bt/2345EB200XXXXXXX/diagnostics");
}

TEST_CASE("device block: sw_version only when known, BLUETTI <model> without a name") {
    ha::StationInfo station{"2616113487436", "", "Apex 300", "AP300", ""};
    const ha::EntityInput input{};
    const auto messages = ha::station_discovery(pi_options(), station, ha::station_entities(pi_options(), station, input));
    const json device = json::parse(messages.at(0).payload)["device"];
    CHECK(device == json{{"identifiers", {"bluetti_2616113487436"}},
                         {"name", "BLUETTI Apex 300"},
                         {"manufacturer", "BLUETTI"},
                         {"model", "Apex 300"},
                         {"model_id", "AP300"},
                         {"serial_number", "2616113487436"},
                         {"via_device", "bluetti_bridge_pi"}});
}

TEST_CASE("entities: a user schema's rows never produce a combination HA rejects") {
    // A user-supplied block (schema_dirs): semantics that do not fit together lose the part that
    // does not fit; controls without a whitelisted register are shown read-only.
    constexpr const char* kYaml = R"(block: 3000
name: USER_BLOCK
state_topic: user_block
read: 10
min_len: 2
fields:
  - {key: odd_power, offset: 0, type: u16, unit: kWh, device_class: power, state_class: measurement, entity: sensor, name: Odd power}
  - {key: odd_voltage, offset: 2, type: u16, scale: 0.1, unit: V, device_class: voltage, state_class: total_increasing, entity: sensor, name: Odd voltage}
  - {key: odd_class, offset: 4, type: u16, unit: W, device_class: bogus, state_class: sideways, entity: sensor, name: Odd class}
  - {key: odd_energy, offset: 6, type: u16, unit: kWh, device_class: energy, state_class: total_increasing, entity: sensor, name: Odd energy}
  - {key: odd_text, offset: 8, type: string, length: 4, unit: W, device_class: power, state_class: measurement, entity: sensor, name: Odd text}
  - {key: mystery_switch, offset: 12, type: bool, entity: control, name: Mystery}
  - {key: mystery_level, offset: 13, type: u8, unit: W, entity: control, entity_category: config, name: Mystery level}
  - {key: mystery_mode, offset: 14, type: u8, options: {0: a, 1: b}, device_class: enum, entity: control, name: Mystery mode}
  - {key: odd_flag, offset: 15, type: bool, device_class: problem, entity: diag, entity_category: config, name: Odd flag}
)";
    auto parsed = schema::parse_schema(kYaml, "user/block_3000.yaml");
    REQUIRE_MESSAGE(parsed.ok(), parsed.error().message);
    schema::SchemaRegistry registry;
    REQUIRE_FALSE(registry.add(std::move(*parsed)).has_value());
    const std::set<std::string> keys = {"odd_power",      "odd_voltage",   "odd_class",    "odd_energy", "odd_text",
                                        "mystery_switch", "mystery_level", "mystery_mode", "odd_flag"};
    const ha::StationInfo station = garage_elite();
    const auto messages = ha::station_discovery(
        pi_options(), station,
        ha::station_entities(pi_options(), station, {&registry, keys, {}, true, {"mystery_switch", "mystery_level", "mystery_mode"}}));
    const json c = json::parse(messages.at(0).payload)["components"];

    struct Row {
        const char* key;
        json subset;
        std::vector<const char*> absent;
    };
    const Row rows[] = {
        {"odd_power", {{"unit_of_measurement", "kWh"}, {"state_class", "measurement"}}, {"device_class"}},
        // an impossible or unknown state class is replaced by the one that fits (measurement)
        {"odd_voltage",
         {{"device_class", "voltage"}, {"unit_of_measurement", "V"}, {"suggested_display_precision", 1}, {"state_class", "measurement"}},
         {}},
        {"odd_class", {{"unit_of_measurement", "W"}, {"state_class", "measurement"}}, {"device_class"}},
        {"odd_energy", {{"device_class", "energy"}, {"state_class", "total_increasing"}, {"suggested_display_precision", 1}}, {}},
        {"odd_text", {{"platform", "sensor"}}, {"device_class", "unit_of_measurement", "state_class", "suggested_display_precision"}},
        {"mystery_switch", {{"platform", "binary_sensor"}, {"payload_on", "ON"}}, {"command_topic", "entity_category"}},
        {"mystery_level",  // a config control shown read-only: diagnostic (a sensor cannot be config)
         {{"platform", "sensor"}, {"unit_of_measurement", "W"}, {"entity_category", "diagnostic"}, {"state_class", "measurement"}},
         {"command_topic"}},
        {"mystery_mode", {{"platform", "sensor"}, {"device_class", "enum"}, {"options", {"a", "b"}}}, {"command_topic"}},
        {"odd_flag", {{"platform", "binary_sensor"}, {"device_class", "problem"}}, {"entity_category"}},
    };
    for (const Row& row : rows) {
        CAPTURE(row.key);
        REQUIRE(c.contains(row.key));
        for (const auto& item : row.subset.items()) {
            const std::string& k = item.key();
            const json& v = item.value();
            CAPTURE(k);
            CHECK(c[row.key].value(k, json()) == v);
        }
        for (const char* k : row.absent) {
            CAPTURE(k);
            CHECK_FALSE(c[row.key].contains(k));
        }
    }
}

TEST_CASE("published_by: every config of this instance, none of a second instance on the same broker") {
    const ha::StationInfo station = garage_elite();
    const ha::EntityInput input{&test::registry_for("EL100V2"), test::station_keys("EL100V2"), {}, true, test::controls_for("EL100V2")};
    for (const auto mode : {ha::DiscoveryMode::device, ha::DiscoveryMode::entity}) {
        const auto first = pi_options(mode);
        auto second = pi_options(mode);  // a second account: its own base topic and client id
        second.base = "bluetti2";
        second.bridge_id = "pi2";
        auto messages = ha::station_discovery(first, station, ha::station_entities(first, station, input));
        const auto bridge = ha::bridge_discovery(first);
        messages.insert(messages.end(), bridge.begin(), bridge.end());
        REQUIRE(messages.size() >= 2);
        for (const auto& m : messages) {
            CAPTURE(m.topic);
            const json config = json::parse(m.payload);
            CHECK(ha::published_by(first, config));
            CHECK_FALSE(ha::published_by(second, config));
        }
    }
    CHECK(ha::published_by(pi_options(), json::parse(kAppendixA)));
    // Another producer, or the other instance's name on our base topic: not ours.
    json other = json::parse(kAppendixA);
    other["origin"]["name"] = "zigbee2mqtt";
    CHECK_FALSE(ha::published_by(pi_options(), other));
    // Anyone can publish a config: wrong types are "not ours", never an exception.
    for (const char* text :
         {R"({"origin":{"name":5}})", R"({"origin":"bluetti-bridge"})", R"([1,2])",
          R"({"origin":{"name":"bluetti-bridge"},"availability":7})",
          R"({"origin":{"name":"bluetti-bridge"},"availability":[{"topic":"bluetti/bridge/availability"}],"device":{"via_device":1}})",
          R"({"origin":{"name":"bluetti-bridge"},"availability":[3,{"topic":[]}],"device":[]})"}) {
        CAPTURE(text);
        CHECK_FALSE(ha::published_by(pi_options(), json::parse(text)));
    }
}
