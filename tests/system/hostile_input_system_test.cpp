// Hostile input end to end (issue 15): every command topic of a simulated device gets payloads
// that are not UTF-8, 1 MB long, NaN, 1e400, NUL-containing and JSON. The bridge stays up and
// online, nothing reaches the device, diagnostics stay valid, bounded JSON, and a valid command
// afterwards is written as usual. A device name in Latin-1 is refused with its position by
// --check-config, at start and on SIGHUP (where the running configuration is kept).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

#include "bridge_fixture.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

const std::string kLatin1Name =
    "K\xFC"
    "che";  // "Küche" saved as Latin-1
// The byte after "    name: K" on the device's name line (bridge_fixture.hpp's config layout).
const std::string kLatin1Position = ":17:12: the config is not valid UTF-8 (byte \\xFC); save it as UTF-8";
constexpr std::size_t kMaxDiagnosticsBytes = 2048;

std::string controls_of_the_whitelist() {
    return "    controls: [ac_output_switch, dc_output_switch, dc_eco_switch, dc_eco_off_time, dc_eco_power_threshold, ac_eco_switch, "
           "ac_eco_off_time, ac_eco_power_threshold, charging_mode, power_lifting, soc_discharge_limit, soc_charge_limit, "
           "grid_charge_switch, feed_in_switch, grid_charge_power_limit, feed_in_power_limit]\n";
}

// The inv_base_settings state says the AC output is `want` ("ON" or "OFF").
bool ac_output_is(const std::string& state, const std::string& want) {
    const auto j = json::parse(state, nullptr, false);
    return !j.is_discarded() && j.contains("ac_output_switch") && j["ac_output_switch"] == want;
}

std::optional<std::string> retained(const Local& local, const std::string& topic) {
    MqttTestClient c;
    mqtt::Options o;
    o.port = local.broker.port();
    o.client_id = "availability-check";
    std::string error;
    REQUIRE_MESSAGE(c.connect(o, kTimeout, error), error);
    REQUIRE(c.subscribe(topic, kTimeout));
    auto m = c.wait_message(topic, kTimeout);
    return m ? std::optional(m->text()) : std::nullopt;
}

}  // namespace

TEST_CASE("hostile commands on every command topic: refused and logged, nothing written, the bridge stays up") {
    Cloud cloud({{"EL100V2", kSerial, ""}}, {"-v"});  // -v: every request in the simulator's log
    Local local(cloud.dir);
    Bridge bridge;
    bridge.write_config(cloud, local, cloud.dir, "Garage Elite", controls_of_the_whitelist());
    bridge.start(cloud.dir);

    auto config = wait_topic(local.ha, "homeassistant/device/bluetti_" + kSerial + "/config", [](const std::string& t) {
        auto j = json::parse(t, nullptr, false);
        return !j.is_discarded() && j["components"].contains("ac_output_switch") &&
               j["components"]["ac_output_switch"].contains("command_topic");
    });
    REQUIRE_MESSAGE(config, bridge.process.describe());
    std::vector<std::string> topics;
    const json components = json::parse(config->text())["components"];
    for (const auto& [key, component] : components.items())
        if (component.contains("command_topic")) topics.push_back(component["command_topic"]);
    REQUIRE(topics.size() >= 2);
    topics.push_back("bluetti/" + kSerial + "/set/power_off");  // subscribed too (set/+), and never a control
    REQUIRE(wait_topic(local.ha, "bluetti/" + kSerial + "/availability", [](const std::string& t) { return t == "online"; }));
    REQUIRE(wait_topic(local.ha, "bluetti/" + kSerial + "/inv_base_settings", [](const std::string& t) { return ac_output_is(t, "ON"); }));
    const std::size_t writes_before = count_of(cloud.sim.stderr_text(), "FC 06 write");

    const std::vector<std::string> hostile = {"O\xFFN", std::string(1 << 20, '1'), "NaN",
                                              "1e400",  std::string("O\0N", 3),    R"({"state": "ON", "value": 1})"};
    for (const auto& topic : topics)
        for (const auto& payload : hostile) REQUIRE(local.ha.publish(topic, payload));
    const auto refused = static_cast<std::int64_t>(topics.size() * hostile.size());
    bool diagnostics_ok = true;
    auto diagnostics = local.ha.wait_message(
        [&](const MqttMessage& m) {
            if (m.topic != "bluetti/" + kSerial + "/diagnostics") return false;
            const auto j = json::parse(m.text(), nullptr, false);
            diagnostics_ok = diagnostics_ok && !j.is_discarded() && m.payload.size() <= kMaxDiagnosticsBytes;
            return !j.is_discarded() && j.value("commands_rejected", std::int64_t{0}) == refused;
        },
        kTimeout);
    REQUIRE_MESSAGE(diagnostics, bridge.process.describe(40));
    CHECK(diagnostics_ok);
    CHECK(bridge.process.running());
    CHECK(retained(local, "bluetti/" + kSerial + "/availability") == "online");
    CHECK(count_of(cloud.sim.stderr_text(), "FC 06 write") == writes_before);
    const std::string log = bridge.process.stderr_text();
    CHECK(log.find("ac_output_switch: 'O\\xFFN' is not ON or OFF") != std::string::npos);
    CHECK(log.find("ac_output_switch: 'O\\x00N' is not ON or OFF") != std::string::npos);
    CHECK(log.find("ac_output_switch: a payload of 1048576 bytes is refused unread (at most 256)") != std::string::npos);
    CHECK(log.find("power_off is not a control") != std::string::npos);
    CHECK(log.size() < 256 * 1024);  // no megabyte echoed into the log

    // A valid command afterwards is written and confirmed as usual.
    REQUIRE(local.ha.publish("bluetti/" + kSerial + "/set/ac_output_switch", "OFF"));
    CHECK_MESSAGE(
        wait_topic(local.ha, "bluetti/" + kSerial + "/inv_base_settings", [](const std::string& t) { return ac_output_is(t, "OFF"); }),
        bridge.process.describe(40));
    CHECK(count_of(cloud.sim.stderr_text(), "FC 06 write 2011=0") == 1);

    // SIGHUP with a device name in Latin-1: refused with its position, the running config kept.
    bridge.write_config(cloud, local, cloud.dir, kLatin1Name, controls_of_the_whitelist());
    REQUIRE(bridge.process.signal(SIGHUP));
    const auto kept = wait_for_file(
        bridge.process.stderr_file(), [](const std::string& t) { return t.find("keeping the running one") != std::string::npos; }, kTimeout,
        [&] { return bridge.process.running(); });
    REQUIRE_MESSAGE(kept, bridge.process.describe(40));
    CHECK(kept->find(bridge.config_file + kLatin1Position) != std::string::npos);
    CHECK(bridge.process.running());
    REQUIRE(bridge.process.signal(SIGTERM));
    CHECK_MESSAGE(bridge.process.wait(std::chrono::seconds(20)) == 0, bridge.process.stderr_text());
    CHECK(cloud.sim.stop() == 0);
    CHECK(cloud.sim.stderr_text().find("forbidden_writes=0") != std::string::npos);
}

TEST_CASE("a device name in Latin-1: --check-config and start-up refuse it with its position") {
    TempDir dir("bluetti-latin1");
    Cloud cloud;
    Local local(dir);
    Bridge bridge;
    bridge.write_config(cloud, local, dir, kLatin1Name);
    auto check = run_command(BLUETTI_BRIDGE_BINARY, {"--config", bridge.config_file, "--check-config"});
    CHECK(check.status == 2);
    CHECK_MESSAGE(check.output.find(bridge.config_file + kLatin1Position) != std::string::npos, check.output);
    auto start = run_command(BLUETTI_BRIDGE_BINARY, {"--config", bridge.config_file});
    CHECK(start.status == 2);  // a clear refusal, not an abort
    CHECK_MESSAGE(start.output.find(bridge.config_file + kLatin1Position) != std::string::npos, start.output);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
