// Controls end to end (issue "Controls"): Home Assistant publishes on a command topic, bluetti-bridge
// validates and writes through the cloud broker, bluetti-sim applies it, and the entity follows only
// once the device confirmed it. bluetti-cli write goes through the same guards.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

#include "bridge_fixture.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

std::string setting(MqttTestClient& ha, const std::string& key, const std::string& want) {
    auto m = wait_topic(ha, "bluetti/" + kSerial + "/inv_base_settings", [&](const std::string& t) {
        auto j = json::parse(t, nullptr, false);
        return !j.is_discarded() && j.contains(key) &&
               (want.empty() || (j[key].is_string() ? j[key].get<std::string>() : j[key].dump()) == want);
    });
    if (!m) return "";
    auto j = json::parse(m->text());
    return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

}  // namespace

TEST_CASE("controls: HA commands write through the device, confirmed, invalid and forbidden ones never leave the bridge") {
    Cloud cloud({{"EL100V2", kSerial, ""}}, {"--lose-echoes", "1", "-v"});  // -v: every request in its log
    Local local(cloud.dir);
    Bridge bridge;
    const std::string controls = "    controls: [ac_output_switch, soc_charge_limit, soc_discharge_limit]\n";
    bridge.write_config(cloud, local, cloud.dir, "Garage Elite", controls);
    // A retained command (left by some other tool) is stale: delivered on subscribe, and ignored.
    REQUIRE(local.ha.publish("bluetti/" + kSerial + "/set/ac_output_switch", "OFF", kTimeout, 1, true));
    bridge.start(cloud.dir);

    const std::string config_topic = "homeassistant/device/bluetti_" + kSerial + "/config";
    auto config = wait_topic(local.ha, config_topic, [](const std::string& t) {
        auto j = json::parse(t, nullptr, false);
        return !j.is_discarded() && j["components"].contains("ac_output_switch") && j["components"].contains("soc_charge_limit") &&
               j["components"].contains("dc_output_switch");
    });
    REQUIRE_MESSAGE(config, bridge.process.describe());
    const json comps = json::parse(config->text())["components"];
    CHECK(comps["ac_output_switch"]["platform"] == "switch");
    CHECK(comps["ac_output_switch"]["command_topic"] == "bluetti/" + kSerial + "/set/ac_output_switch");
    CHECK(comps["soc_charge_limit"]["platform"] == "number");
    CHECK(comps["soc_charge_limit"]["min"] == 1);
    CHECK(comps["soc_charge_limit"]["max"] == 100);
    CHECK(comps["dc_output_switch"]["platform"] == "binary_sensor");  // not in this device's list: read-only
    CHECK_FALSE(comps["dc_output_switch"].contains("command_topic"));
    CHECK(comps.contains("write_failures"));
    REQUIRE(setting(local.ha, "ac_output_switch", "ON") == "ON");
    CHECK(count_of(cloud.sim.stderr_text(), "FC 06 write 2011") == 0);
    CHECK(bridge.process.stderr_text().find("ignoring a retained command") != std::string::npos);

    // AC off from "Home Assistant": the first echo is lost, the write is retried, then confirmed and re-read.
    REQUIRE(local.ha.publish("bluetti/" + kSerial + "/set/ac_output_switch", "OFF"));
    CHECK_MESSAGE(setting(local.ha, "ac_output_switch", "OFF") == "OFF", bridge.process.describe(40));
    const std::string sim_log = cloud.sim.stderr_text();
    CHECK(count_of(sim_log, "FC 06 write 2011=0") == 2);  // the lost echo and the retry
    CHECK(count_of(sim_log, "echo lost by --lose-echoes") == 1);

    // A number inside its range.
    REQUIRE(local.ha.publish("bluetti/" + kSerial + "/set/soc_charge_limit", "90"));
    CHECK(setting(local.ha, "soc_charge_limit", "90") == "90");

    // Refused before anything is sent: out of range, not an integer, across the limits, not enabled,
    // not a control at all.
    for (const auto& [key, payload] : std::vector<std::pair<std::string, std::string>>{{"soc_charge_limit", "150"},
                                                                                       {"soc_charge_limit", "80.5"},
                                                                                       {"soc_discharge_limit", "95"},
                                                                                       {"dc_output_switch", "OFF"},
                                                                                       {"power_off", "ON"},
                                                                                       {"factory_reset", "ON"}})
        REQUIRE(local.ha.publish("bluetti/" + kSerial + "/set/" + key, payload));
    auto diagnostics = wait_topic(local.ha, "bluetti/" + kSerial + "/diagnostics", [](const std::string& t) {
        auto j = json::parse(t, nullptr, false);
        return !j.is_discarded() && j.value("commands_rejected", 0) == 6;
    });
    CHECK_MESSAGE(diagnostics, bridge.process.describe(40));
    const std::string after = cloud.sim.stderr_text();
    CHECK(after.find("2023=150") == std::string::npos);
    CHECK(after.find("2022=95") == std::string::npos);
    CHECK(after.find("write 2012") == std::string::npos);
    const std::string bridge_log = bridge.process.stderr_text();
    CHECK(bridge_log.find("soc_charge_limit: 150 is out of range 1..100 %") != std::string::npos);
    CHECK(bridge_log.find("power_off is not a control") != std::string::npos);

    // controls: false (SIGHUP): the switches and numbers go, and commands are refused.
    bridge.write_config(cloud, local, cloud.dir, "Garage Elite", "    controls: false\n");
    REQUIRE(bridge.process.signal(SIGHUP));
    CHECK(wait_topic(local.ha, config_topic, [](const std::string& t) {
        auto j = json::parse(t, nullptr, false);
        return !j.is_discarded() && !j["components"].contains("ac_output_switch") && !j["components"].contains("write_failures");
    }));
    REQUIRE(local.ha.publish("bluetti/" + kSerial + "/set/ac_output_switch", "ON"));
    local.ha.run_for(std::chrono::seconds(2));
    CHECK(count_of(cloud.sim.stderr_text(), "FC 06 write 2011=1") == 0);

    REQUIRE(bridge.process.signal(SIGTERM));
    CHECK_MESSAGE(bridge.process.wait(std::chrono::seconds(20)) == 0, bridge.process.stderr_text());

    // bluetti-cli write: the same guards, the same confirmation (controls from the config's list).
    bridge.write_config(cloud, local, cloud.dir, "Garage Elite", controls);
    const std::vector<std::string> base{"--config", bridge.config_file, "--json", "write"};
    auto with = [&](std::vector<std::string> extra) {
        auto args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        return cli(args);
    };
    auto on = with({"--key", "ac_output_switch", "--value", "on"});
    REQUIRE_MESSAGE(on.status == 0, on.output);
    const auto j = json_lines(on.output).at(0);
    CHECK(j["confirmed"] == true);
    CHECK(j["read_back"] == 1);
    auto by_register = with({"--register", "2023", "--value", "95"});
    CHECK_MESSAGE(by_register.status == 0, by_register.output);
    auto range = with({"--key", "soc_charge_limit", "--value", "0"});
    CHECK(range.status == 2);
    CHECK(range.output.find("0 is out of range 1..100 %") != std::string::npos);
    for (const char* forbidden : {"2013", "2206", "2233", "2012"}) {
        auto r = with({"--register", forbidden, "--value", "1"});
        CHECK(r.status == 2);
        CHECK_MESSAGE(r.output.find(std::string("register ") + forbidden + " is not a control enabled for EL100V2") != std::string::npos,
                      r.output);
    }
    const std::string final_log = cloud.sim.stderr_text();
    CHECK(final_log.find("write 2013") == std::string::npos);
    CHECK(final_log.find("write 2206") == std::string::npos);
    CHECK(final_log.find("write 2233") == std::string::npos);
    CHECK(cloud.sim.stop() == 0);
    CHECK(cloud.sim.stderr_text().find("forbidden_writes=0") != std::string::npos);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
