// `bluetti-cli entities` without a broker: EntitiesView fed discovery configs and state payloads as
// the local broker would deliver them, and what it then shows as Home Assistant would (values
// through value_template, availability, units), in the table and in JSON.
#include <doctest/doctest.h>

#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "entities_view.hpp"

using namespace bluetti;
using nlohmann::json;

namespace {

// A station's device discovery config as the bridge publishes it: shared state topic and
// availability, one component per entity.
const char* const kDeviceConfig = R"({
  "device": {"name": "Garage", "identifiers": ["bluetti_X"]},
  "state_topic": "bluetti/X/state",
  "availability": [{"topic": "bluetti/status"}, {"topic": "bluetti/X/availability"}],
  "availability_mode": "all",
  "components": {
    "soc": {"platform": "sensor", "name": "Battery", "unique_id": "x_soc",
            "value_template": "{{ value_json.soc | default(None) }}", "unit_of_measurement": "%"},
    "mode": {"p": "select", "name": "Mode", "unique_id": "x_mode", "value_template": "{{ value_json.mode }}"},
    "temp": {"p": "sensor", "name": "Inverter temperature", "unique_id": "x_temp",
             "value_template": "{{ value_json.temperature }}", "unit_of_measurement": "°C"},
    "nameless": {"p": "sensor", "name": "No unique_id: HA ignores it"}
  }
})";

std::string line(const std::string& device, const std::string& name, const std::string& value) {
    std::ostringstream out;
    out << std::left << std::setw(24) << device << std::setw(34) << name << value << "\n";
    return out.str();
}

struct View {
    std::vector<std::string> subscribed;
    app::EntitiesView view{"homeassistant", [this](const std::string& topic) { subscribed.push_back(topic); }};

    std::string table() {
        std::ostringstream out;
        view.print_table(out);
        return out.str();
    }
    json list() {
        std::ostringstream out;
        view.print_json(out);
        return json::parse(out.str());
    }
};

}  // namespace

TEST_CASE("entities: a device config's components, subscribed once per topic, unavailable until every availability topic says online") {
    View v;
    v.view.on_message("homeassistant/device/bluetti_X/config", kDeviceConfig);
    CHECK(v.subscribed == std::vector<std::string>{"bluetti/X/state", "bluetti/status", "bluetti/X/availability"});
    // In the natural order of unique_id (x_mode, x_soc, x_temp); the component without one is not listed.
    CHECK(v.table() == line("Garage", "Mode", "unavailable") + line("Garage", "Battery", "unavailable") +
                           line("Garage", "Inverter temperature", "unavailable") + "3 entities\n");

    v.view.on_message("bluetti/status", "online");
    v.view.on_message("bluetti/X/availability", "offline");
    CHECK(v.table().find(line("Garage", "Mode", "unavailable")) == 0);
    v.view.on_message("bluetti/X/availability", "online");
    CHECK(v.table() == line("Garage", "Mode", "unknown") + line("Garage", "Battery", "unknown") +
                           line("Garage", "Inverter temperature", "unknown") + "3 entities\n");
}

TEST_CASE("entities: values through each value_template, with units, unknown for a missing or null key") {
    View v;
    v.view.on_message("homeassistant/device/bluetti_X/config", kDeviceConfig);
    v.view.on_message("bluetti/status", "online");
    v.view.on_message("bluetti/X/availability", "online");
    v.view.on_message("bluetti/X/state", R"({"soc": 87, "mode": "backup", "temperature": null})");
    CHECK(v.table() == line("Garage", "Mode", "backup") + line("Garage", "Battery", "87 %") +
                           line("Garage", "Inverter temperature", "unknown") + "3 entities\n");

    const json list = v.list();
    REQUIRE(list.size() == 3);
    CHECK(list[0]["platform"] == "select");  // "p", the abbreviation
    CHECK(list[0]["value"] == "backup");
    CHECK(list[1] == json{{"device", "Garage"},
                          {"name", "Battery"},
                          {"platform", "sensor"},
                          {"unique_id", "x_soc"},
                          {"value", "87"},
                          {"unit", "%"},
                          {"available", true}});
    CHECK(list[2]["value"] == "None");  // JSON keeps HA's own word for unknown

    // A state that is no JSON object: every templated value is unknown.
    v.view.on_message("bluetti/X/state", "not json");
    CHECK(v.table().find(line("Garage", "Mode", "unknown")) == 0);
}

TEST_CASE("entities: a single-component config, its own topics, and payloads shown as they are without a template") {
    View v;
    v.view.on_message("homeassistant/sensor/bridge_version/config",
                      R"({"name": "Bridge version", "unique_id": "bridge_version", "state_topic": "bluetti/bridge/version"})");
    CHECK(v.subscribed == std::vector<std::string>{"bluetti/bridge/version"});
    CHECK(v.table() == line("?", "Bridge version", "unknown") + "1 entities\n");  // no device name: "?"
    v.view.on_message("bluetti/bridge/version", "1.4.0");
    CHECK(v.table() == line("?", "Bridge version", "1.4.0") + "1 entities\n");
    CHECK(v.list()[0]["available"] == true);  // no availability topic: always available
}

TEST_CASE("entities: configs under another prefix, or that are no JSON object, add nothing") {
    View v;
    v.view.on_message("other/sensor/x/config", R"({"name": "Elsewhere", "unique_id": "elsewhere", "state_topic": "s"})");
    v.view.on_message("homeassistant/sensor/y/config", "[1, 2]");
    v.view.on_message("homeassistant/sensor/z/config", "{broken");
    CHECK(v.subscribed.empty());
    CHECK(v.table() == "0 entities\n");
    CHECK(v.list() == json::array());
}

TEST_CASE("entities: long device and entity names are cut to their columns") {
    View v;
    v.view.on_message("homeassistant/device/long/config", R"({"device": {"name": "A device name of thirty characters"},
        "components": {"a": {"p": "sensor", "name": "An entity name that is much longer than its column", "unique_id": "long_a",
                             "state_topic": "s"}}})");
    v.view.on_message("s", "5");
    CHECK(v.table() == std::string("A device name of thirty ") + "An entity name that is much longe " + "5\n1 entities\n");
}
