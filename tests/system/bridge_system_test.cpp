// The daemon end to end (issue "The daemon"): bluetti-sim -> TLS cloud broker -> bluetti-bridge ->
// local broker -> a subscriber acting as Home Assistant.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <set>

#include "bridge_fixture.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

// The rules of docs/home-assistant.md a device config must pass (the unit tests check every payload in
// detail; this re-checks what the running bridge really published).
void check_device_config(const json& c, const std::string& serial) {
    REQUIRE(c.is_object());
    const std::set<std::string> device_keys{"identifiers", "connections", "manufacturer",   "model",
                                            "model_id",    "name",        "serial_number",  "sw_version",
                                            "hw_version",  "via_device",  "suggested_area", "configuration_url"};
    // Items, not structured bindings: clang before 16 cannot capture a binding in doctest's macros.
    for (const auto& item : c["device"].items()) CHECK_MESSAGE(device_keys.count(item.key()), "device key " << item.key());
    CHECK(c["device"]["identifiers"][0] == "bluetti_" + serial);
    CHECK(c["device"]["manufacturer"] == "BLUETTI");
    CHECK(c["origin"]["name"] == "bluetti-bridge");
    CHECK(c["availability_mode"] == "all");
    REQUIRE(c["components"].is_object());
    std::set<std::string> ids;
    for (const auto& item : c["components"].items()) {
        const std::string& key = item.key();
        const json& comp = item.value();
        CAPTURE(key);
        CHECK(key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos);
        CHECK(comp["unique_id"] == "bluetti_" + serial + "_" + key);
        CHECK(ids.insert(comp["unique_id"].get<std::string>()).second);
        CHECK_FALSE((comp.contains("availability") && comp.contains("availability_topic")));
        CHECK(comp["name"].get<std::string>().rfind(c["device"]["name"].get<std::string>(), 0) != 0);
        if (comp.contains("options")) {
            // An enum sensor says so; HA's select platform has no device classes at all.
            if (comp["platform"] == "select")
                CHECK_FALSE(comp.contains("device_class"));
            else
                CHECK(comp["device_class"] == "enum");
            CHECK_FALSE(comp.contains("unit_of_measurement"));
        }
        if (comp.value("device_class", "") == "energy") CHECK(comp["state_class"] == "total_increasing");
        if (comp.value("device_class", "") == "power" && comp.contains("state_class")) CHECK(comp["state_class"] == "measurement");
    }
}

}  // namespace

TEST_CASE("full path: discovery, values, availability, birth, clean-up, reload, SIGTERM") {
    Cloud cloud;
    Local local(cloud.dir);
    // A stale config of ours from an earlier run (as this instance publishes them: its availability
    // topic, its bridge device), and one of another producer.
    REQUIRE(local.ha.publish("homeassistant/device/bluetti_GONE123/config",
                             R"({"origin":{"name":"bluetti-bridge"},"availability":[{"topic":"bluetti/bridge/availability"}],)"
                             R"("device":{"identifiers":["bluetti_GONE123"],"via_device":"bluetti_bridge_bridge-under-test"}})",
                             kTimeout, 1, true));
    REQUIRE(local.ha.publish("homeassistant/device/zigbee_lamp/config", R"({"origin":{"name":"zigbee2mqtt"}})", kTimeout, 1, true));

    Bridge bridge;
    bridge.write_config(cloud, local, cloud.dir, "Garage Elite");
    auto check = run_command(BLUETTI_BRIDGE_BINARY, {"--config", bridge.config_file, "--check-config"});
    CHECK_MESSAGE(check.status == 0, check.output);
    // bluetti-cli takes credentials, broker and device from the same file.
    auto cli_check = run_command(BLUETTI_CLI_BINARY, {"check-config", bridge.config_file});
    CHECK(cli_check.status == 0);
    CHECK(cli_check.output == check.output);
    auto scan = run_command(BLUETTI_CLI_BINARY, {"--config", bridge.config_file, "--json", "scan", "--blocks", "100,1100,2000"});
    REQUIRE_MESSAGE(scan.status == 0, scan.output);
    CHECK_MESSAGE(scan.output.find("\"device_serial\":\"" + kSerial + "\"") != std::string::npos, scan.output);
    std::map<int, json> scanned;  // the simulator's values as the CLI decodes them
    for (const auto& line : json_lines(scan.output)) scanned[line["block"].get<int>()] = line["fields"];
    bridge.start(cloud.dir);

    auto online = wait_topic(local.ha, "bluetti/bridge/availability", [](const std::string& t) { return t == "online"; });
    REQUIRE_MESSAGE(online, bridge.process.describe());

    // Discovery with the data-bearing entities (they appear once their keys were decoded).
    const std::string config_topic = "homeassistant/device/bluetti_" + kSerial + "/config";
    auto config = wait_topic(local.ha, config_topic, [](const std::string& t) {
        auto j = json::parse(t, nullptr, false);
        return !j.is_discarded() && j["components"].contains("pack_soc") && j["components"].contains("ac_output_switch") &&
               j["components"].contains("firmware_arm_version");
    });
    REQUIRE_MESSAGE(config, bridge.process.describe());
    const json device = json::parse(config->text());
    check_device_config(device, kSerial);
    CHECK(device["device"]["name"] == "Garage Elite");
    CHECK(device["device"]["model_id"] == "EL100V2");

    auto available = wait_topic(local.ha, "bluetti/" + kSerial + "/availability", [](const std::string& t) { return t == "online"; });
    REQUIRE(available);

    // Values through the value_templates equal the simulator's (the fixed ones exactly).
    std::map<std::string, json> states;
    for (const char* topic : {"home_data", "inv_base_info", "inv_base_settings", "inv_grid_info"}) {
        auto m = wait_topic(local.ha, "bluetti/" + kSerial + "/" + topic, [](const std::string&) { return true; });
        REQUIRE_MESSAGE(m, topic);
        states[topic] = json::parse(m->text());
    }
    const auto& comps = device["components"];
    CHECK(render(comps["device_serial"], states["home_data"]) == kSerial);
    CHECK(render(comps["firmware_arm_version"], states["inv_base_info"]) == "4011.05");
    CHECK(render(comps["ac_output_switch"], states["inv_base_settings"]) == "ON");
    CHECK(render(comps["soc_charge_limit"], states["inv_base_settings"]) == "100");
    const double hz = std::stod(render(comps["grid_frequency"], states["inv_grid_info"]));
    CHECK(hz > 49.8);
    CHECK(hz < 50.2);
    for (const auto& item : states["home_data"].items()) CHECK_MESSAGE(!item.value().is_null(), item.key());  // absent keys are left out
    // Every entity on these four topics renders a value; on the two constant blocks (firmware and
    // settings) it is exactly the simulator's value as bluetti-cli read it.
    const std::map<std::string, int> constant_blocks{{"inv_base_info", 1100}, {"inv_base_settings", 2000}};
    for (const auto& item : comps.items()) {
        const std::string& key = item.key();
        const json& comp = item.value();
        const std::string topic = comp.value("state_topic", "");
        const std::string name = topic.substr(topic.rfind('/') + 1);
        if (!states.count(name)) continue;
        CAPTURE(key);
        const std::string shown = render(comp, states[name]);
        CHECK(shown != "None");
        auto block = constant_blocks.find(name);
        if (block == constant_blocks.end() || !scanned[block->second].contains(key)) continue;
        const json& want = scanned[block->second][key];
        if (want.is_boolean())
            CHECK(shown == (want.get<bool>() ? "ON" : "OFF"));
        else if (want.is_number())
            CHECK(std::stod(shown) == doctest::Approx(want.get<double>()));
        else
            CHECK(shown == want.get<std::string>());
    }

    // Stale config of ours cleared; the other producer's untouched.
    CHECK(wait_topic(local.ha, "homeassistant/device/bluetti_GONE123/config", [](const std::string& t) { return t.empty(); }));
    CHECK_FALSE(wait_topic(
        local.ha, "homeassistant/device/zigbee_lamp/config", [](const std::string& t) { return t.empty(); }, std::chrono::seconds(1)));

    // Home Assistant's birth: configs again.
    while (local.ha.wait_message(config_topic, std::chrono::milliseconds(10))) {
    }
    REQUIRE(local.ha.publish("homeassistant/status", "online"));
    CHECK(wait_topic(
        local.ha, config_topic, [](const std::string& t) { return !t.empty(); }, std::chrono::seconds(10)));

    // The device stops answering: offline; it answers again: online.
    cloud.sim.stop();
    CHECK(wait_topic(
        local.ha, "bluetti/" + kSerial + "/availability", [](const std::string& t) { return t == "offline"; }, std::chrono::seconds(40)));
    cloud.start_sim({});
    CHECK(wait_topic(
        local.ha, "bluetti/" + kSerial + "/availability", [](const std::string& t) { return t == "online"; }, std::chrono::seconds(40)));

    // SIGHUP: a new name, and an invalid file that is rejected while the old config keeps running.
    bridge.write_config(cloud, local, cloud.dir, "Workshop Elite");
    REQUIRE(bridge.process.signal(SIGHUP));
    CHECK(wait_topic(local.ha, config_topic, [](const std::string& t) { return t.find("\"Workshop Elite\"") != std::string::npos; }));
    write_text_file(bridge.config_file, "cloud: [\n");
    REQUIRE(bridge.process.signal(SIGHUP));
    local.ha.run_for(std::chrono::milliseconds(500));
    CHECK_MESSAGE(bridge.process.running(), bridge.process.describe(40));

    // Local broker restart: the bridge reconnects and publishes its configs again (no persistence).
    std::string error;
    REQUIRE(local.broker.restart(cloud.dir.path(), error));
    local.connect();
    CHECK(wait_topic(local.ha, config_topic, [](const std::string& t) { return !t.empty(); }));
    CHECK(wait_topic(local.ha, "bluetti/bridge/availability", [](const std::string& t) { return t == "online"; }));

    // Cloud broker restart: data flows again without restarting the bridge.
    REQUIRE(cloud.broker.restart(cloud.dir.path(), error));
    while (local.ha.wait_message("bluetti/" + kSerial + "/home_data", std::chrono::milliseconds(10))) {
    }
    CHECK(wait_topic(
        local.ha, "bluetti/" + kSerial + "/home_data", [](const std::string&) { return true; }, std::chrono::seconds(60)));

    // SIGTERM: offline published, exit 0.
    REQUIRE(bridge.process.signal(SIGTERM));
    CHECK(wait_topic(local.ha, "bluetti/bridge/availability", [](const std::string& t) { return t == "offline"; }));
    CHECK_MESSAGE(bridge.process.wait(std::chrono::seconds(20)) == 0, bridge.process.stderr_text());
    CHECK(cloud.sim.stop() == 0);
    CHECK(cloud.sim.stderr_text().find("forbidden_writes=0") != std::string::npos);
    // The keys seen are kept for the next start (written when they changed, and at exit).
    const auto keys = json::parse(read_text_file(cloud.dir.file("state") + "/stations.json"), nullptr, false);
    REQUIRE(keys.is_object());
    REQUIRE(keys.contains(kSerial));
    CHECK(keys[kSerial].size() > 10);
    CHECK(std::find(keys[kSerial].begin(), keys[kSerial].end(), json("pack_soc")) != keys[kSerial].end());
}

// The AP300's expansion pack through the daemon: NODE_INFO finds it, and its per-pack blocks are
// read at once (not when the cells group next falls due, ten minutes on here), each at the pack's
// own slave; pack 2's entities carry pack 2's values, the cells included.
TEST_CASE("an AP300 with an expansion pack: pack 2 found, read at once at its slave, its entities and cells published") {
    const SimDevice ap300{"AP300", "AP3002616113487436", "2616113487436"};
    Cloud cloud({ap300});
    Local local(cloud.dir);
    Bridge bridge;
    bridge.write_config(cloud, local, cloud.dir, "Apex", "", "",
                        "{core: 2s, battery: 10m, settings: 10m, cells: 10m, info: 10m, topology: 10m}", "AP300");
    // The fixture's device is an EL100V2's serial: bridge the AP300 by its subSn instead.
    std::string text = read_text_file(bridge.config_file);
    text.replace(text.find(kSerial), kSerial.size(), ap300.sub_sn);
    write_text_file(bridge.config_file, text);
    bridge.start(cloud.dir);

    const std::string serial = ap300.sn;
    auto nodes = wait_topic(local.ha, "bluetti/" + serial + "/node_info", [](const std::string&) { return true; });
    REQUIRE_MESSAGE(nodes, bridge.process.stderr_text());
    const json node_info = json::parse(nodes->text());
    REQUIRE(node_info.contains("node2_slave"));

    // Pack 2's item block and cells, with pack 1's, on the merged per-pack state topics.
    auto items = wait_topic(local.ha, "bluetti/" + serial + "/pack_item_info", [](const std::string& t) {
        auto j = json::parse(t, nullptr, false);
        return !j.is_discarded() && j.contains("battery_pack2_serial") && j.contains("battery_pack1_serial");
    });
    REQUIRE_MESSAGE(items, bridge.process.stderr_text());
    const json pack_items = json::parse(items->text());
    CHECK(pack_items["battery_pack2_model"] == "B300");
    CHECK(pack_items["battery_pack2_serial"] == node_info["node2_serial"]);
    CHECK(pack_items["battery_pack1_serial"] != pack_items["battery_pack2_serial"]);
    auto cells = wait_topic(local.ha, "bluetti/" + serial + "/pack_cells", [](const std::string& t) {
        auto j = json::parse(t, nullptr, false);
        return !j.is_discarded() && j.contains("battery_pack2_cell1_voltage") && j.contains("battery_pack1_cell1_voltage");
    });
    REQUIRE_MESSAGE(cells, bridge.process.stderr_text());

    // Discovery offers pack 2's entities, on the same state topic.
    auto config = wait_topic(local.ha, "homeassistant/device/bluetti_" + serial + "/config", [](const std::string& t) {
        auto j = json::parse(t, nullptr, false);
        return !j.is_discarded() && j["components"].contains("battery_pack2_soc") &&
               j["components"].contains("battery_pack2_cell1_voltage");
    });
    REQUIRE_MESSAGE(config, bridge.process.stderr_text());
    const json comps = json::parse(config->text())["components"];
    CHECK(comps["battery_pack2_soc"]["state_topic"] == "bluetti/" + serial + "/pack_item_info");
    CHECK(render(comps["battery_pack2_model"], pack_items) == "B300");
    CHECK(bridge.process.stderr_text().find("2 battery pack(s) found") != std::string::npos);
    REQUIRE(bridge.process.signal(SIGTERM));
    CHECK(bridge.process.wait(std::chrono::seconds(20)) == 0);
}

TEST_CASE("--check-config: errors with file:line:column and exit 2") {
    TempDir dir("bluetti-check");
    write_text_file(dir.file("bad.yaml"), "cloud:\n  email: a@b.c\n  passwrd: x\nhomeassistant:\n  discovery: sometimes\n");
    auto r = run_command(BLUETTI_BRIDGE_BINARY, {"--config", dir.file("bad.yaml"), "--check-config"});
    CHECK(r.status == 2);
    CHECK_MESSAGE(r.output.find(dir.file("bad.yaml") + ":3:3: unknown key 'passwrd'") != std::string::npos, r.output);
    CHECK_MESSAGE(r.output.find(":5:14:") != std::string::npos, r.output);
    auto cli = run_command(BLUETTI_CLI_BINARY, {"check-config", dir.file("bad.yaml")});
    CHECK(cli.status == 2);
    CHECK(cli.output == r.output);
    auto cli_flag = run_command(BLUETTI_CLI_BINARY, {"--config", dir.file("bad.yaml"), "devices"});
    CHECK(cli_flag.status == 2);
    CHECK(cli_flag.output == r.output);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
