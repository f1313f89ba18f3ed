// The fault matrix (issue "Proof under load and faults"): bluetti-sim injects one fault at a time
// into the full path (sim -> TLS cloud broker -> bluetti-bridge -> local broker -> "Home
// Assistant"), and every case checks, over everything the bridge published while the fault lasted:
//   - the bridge is still running (no crash) and the device's availability is right;
//   - no wrong or zeroed value: what the simulator keeps constant (firmware, settings) never changes,
//     the serial
//     is always the simulator's, the grid frequency is always near 50 Hz;
//   - energy counters never decrease;
//   - the bridge counted the fault in its diagnostics where it has a counter for it, and data kept
//     flowing (recovery without a restart).
// Broker restarts and reloads with an invalid file are covered by the daemon's own walk-through
// (bridge_system_test.cpp), without these value checks.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <set>

#include "observe.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

// The invariants every case shares.
void check_values(const Observed& seen) {
    // What the simulator never changes: every value equal to the first. The settings block whole;
    // of the info block its texts (firmware versions, model), not its temperatures.
    for (const std::string name : {"inv_base_info", "inv_base_settings"}) {
        const auto it = seen.states.find(name);
        if (it == seen.states.end()) continue;
        std::map<std::string, json> first;
        for (const auto& payload : it->second)
            // Items and named results, not structured bindings: clang before 16 cannot capture a
            // binding in doctest's macros.
            for (const auto& item : payload.items()) {
                const std::string& key = item.key();
                const json& value = item.value();
                if (name == "inv_base_info" && !value.is_string()) continue;
                const auto inserted = first.emplace(key, value);
                const json& before = inserted.first->second;
                CHECK_MESSAGE((inserted.second || before == value), name << "." << key << " changed: " << before << " -> " << value);
            }
    }
    for (const auto& [name_, payloads] : seen.states)
        for (const auto& p : payloads) {
            const std::string& name = name_;
            if (p.contains("device_serial")) CHECK(p["device_serial"] == kSerial);
            if (p.contains("firmware_arm_version")) CHECK(p["firmware_arm_version"] == "4011.05");
            if (p.contains("grid_frequency")) {
                CHECK(p["grid_frequency"].get<double>() > 49.5);
                CHECK(p["grid_frequency"].get<double>() < 50.5);
            }
            for (const auto& item : p.items()) CHECK_MESSAGE(!item.value().is_null(), name << "." << item.key());
        }
    // Energy counters never go down, whichever block carries them.
    std::map<std::string, double> last;
    for (const auto& [name, payloads] : seen.states)
        for (const auto& p : payloads)
            for (const auto& key : seen.energy_keys) {
                if (!p.contains(key) || !p[key].is_number()) continue;
                const double v = p[key].get<double>();
                const auto inserted = last.emplace(name + "." + key, v);
                double& previous = inserted.first->second;
                CHECK_MESSAGE((inserted.second || v >= previous), key << " went down: " << previous << " -> " << v);
                previous = v;
            }
}

struct Case {
    Cloud cloud;
    Local local;
    Bridge bridge;
    Case(std::vector<std::string> sim_flags, const std::string& cloud_extra = "")
        : cloud({{"EL100V2", kSerial, ""}}, with_seed(std::move(sim_flags))), local(cloud.dir) {
        bridge.write_config(cloud, local, cloud.dir, "Fault Elite", "", cloud_extra);
        bridge.start(cloud.dir);
    }
    static std::vector<std::string> with_seed(std::vector<std::string> flags) {
        flags.insert(flags.end(), {"--seed", "7"});
        return flags;
    }
    // Core polls seen (home_data payloads), then the shared invariants and a living bridge.
    Observed run(
        std::size_t home_data, const std::function<bool(const Observed&)>& also = [](const Observed&) { return true; }) {
        auto seen = observe(local, std::chrono::seconds(90), [&](const Observed& s) {
            const auto it = s.states.find("home_data");
            return it != s.states.end() && it->second.size() >= home_data && also(s);
        });
        INFO(bridge.process.describe(30));
        CHECK(seen.states["home_data"].size() >= home_data);
        CHECK(also(seen));
        check_values(seen);
        CHECK(bridge.process.running());
        return seen;
    }
};

}  // namespace

TEST_CASE("fault: 5 % bad CRC: counted, never published, the device stays online") {
    Case c({"--bad-crc", "5"});
    const auto seen = c.run(6, [](const Observed& s) { return diag(s, "crc_errors") > 0; });
    CHECK(always_online(seen));
}

TEST_CASE("fault: exception replies: counted, the other blocks still published") {
    Case c({"--exception", "10"});
    const auto seen = c.run(6, [](const Observed& s) { return diag(s, "exceptions") > 0; });
    CHECK(always_online(seen));
}

TEST_CASE("fault: short replies: a block shorter than asked never shifts or zeroes a value") {
    Case c({"--short-reply", "30"});
    const auto seen = c.run(8);
    CHECK(always_online(seen));
}

TEST_CASE("fault: slow replies just inside the timeout still count as answers") {
    Case c({"--delay", "1500"});  // the bridge's request_timeout is 2 s
    const auto seen = c.run(4);
    CHECK(always_online(seen));
    CHECK(diag(seen, "timeouts") == 0);
}

TEST_CASE("fault: 5 % dropped requests: retried, counted, no gap in availability") {
    Case c({"--drop", "5"});
    const auto seen = c.run(6, [](const Observed& s) { return diag(s, "timeouts") > 0; });
    CHECK(always_online(seen));
}

TEST_CASE("fault: unsolicited pushes interleaved with replies") {
    Case c({"--push-every", "1"});
    // The bridge logs each block it takes (-v): pushes are decoded and used, not dropped as strays.
    auto pushes = [&] { return count_of(c.bridge.process.stderr_text(), kSerial + ": block 100 (pushed)"); };
    const auto seen = c.run(8, [&](const Observed&) { return pushes() >= 4; });
    CHECK(always_online(seen));
    CHECK(pushes() >= 4);
    CHECK(count_of(c.bridge.process.stderr_text(), kSerial + ": block 1300 (pushed)") >= 1);
    CHECK(diag(seen, "unsolicited") == 0);  // a push of a known block is data, never a stray
}

TEST_CASE("fault: the cloud session kicked by another client with our id: the bridge comes back") {
    Case c({"--kick-every", "4", "--kick-client-id", "bridge-cloud-under-test"}, "  client_id: bridge-cloud-under-test\n");
    auto kicks = [&] { return count_of(c.cloud.sim.stderr_text(), "kick: connected as"); };
    auto availability = c.run(2, [&](const Observed&) { return kicks() >= 2; }).availability;
    // Data keeps coming after the take-overs; each one was seen as the session going down (offline)
    // and the device ends online (a state is only published after its `online`).
    const auto after = c.run(3);
    availability.insert(availability.end(), after.availability.begin(), after.availability.end());
    CHECK(std::count(availability.begin(), availability.end(), "offline") >= 1);
    REQUIRE_FALSE(availability.empty());
    CHECK(availability.back() == "online");
}

TEST_CASE("fault: the account token expires mid-run, again and again: renewed each time, data keeps flowing") {
    Case c({"--token-ttl", "6"});  // renewed halfway through, every 3 s
    auto renewals = [&] { return count_of(c.bridge.process.stderr_text(), "account token renewed"); };
    const auto seen = c.run(4, [&](const Observed&) { return renewals() >= 3; });
    CHECK(always_online(seen));
    CHECK(count_of(c.bridge.process.stderr_text(), "[error]") == 0);
}

TEST_CASE("fault: the REST API unreachable at start-up, then back: the bridge logs in by itself") {
    Cloud cloud({{"EL100V2", kSerial, ""}});
    Local local(cloud.dir);
    Bridge bridge;
    bridge.write_config(cloud, local, cloud.dir, "Fault Elite");
    const int port = cloud.rest_port;
    cloud.sim.stop();  // the REST stand-in with it: the login is refused
    bridge.start(cloud.dir);
    auto retrying = [&] { return bridge.process.stderr_text().find("retrying in") != std::string::npos; };
    local.ha.loop().run_until(retrying, kTimeout);
    REQUIRE_MESSAGE(retrying(), bridge.process.describe(20));
    // Back on the same port, as a cloud outage ends.
    cloud.start_sim(Case::with_seed({}), port);
    auto seen = observe(local, std::chrono::seconds(120), [](const Observed& s) {
        const auto it = s.states.find("home_data");
        return it != s.states.end() && it->second.size() >= 2;
    });
    INFO(bridge.process.describe(30));
    CHECK(seen.states["home_data"].size() >= 2);
    check_values(seen);
    CHECK(bridge.process.running());
}

TEST_CASE("fault: both brokers restarted and a reload with an invalid file: values stay right, no restart needed") {
    Case c({});
    c.run(2);
    std::string error;
    REQUIRE(c.cloud.broker.restart(c.cloud.dir.path(), error));
    c.run(3);  // data flows again through the new cloud broker
    REQUIRE(c.local.broker.restart(c.cloud.dir.path(), error));
    c.local.connect();
    const auto after_local = c.run(2);
    CHECK_FALSE(after_local.energy_keys.empty());  // the configs came back to the empty broker
    write_text_file(c.bridge.config_file, "devices: {\n");
    REQUIRE(c.bridge.process.signal(SIGHUP));
    c.run(3);
    CHECK(c.bridge.process.stderr_text().find("keeping the running one") != std::string::npos);
}

TEST_CASE("fault: a device silent for a while goes offline, and comes back without a restart") {
    Case c({});
    c.run(2);
    c.cloud.sim.stop();
    c.cloud.start_sim(Case::with_seed({"--silent"}));
    CHECK_MESSAGE(wait_topic(
                      c.local.ha, kBase + "availability", [](const std::string& t) { return t == "offline"; }, std::chrono::seconds(60)),
                  c.bridge.process.describe(30));
    // Silent for a minute more (30 core intervals): still offline, no state published from nowhere,
    // the bridge still polling (its timeouts go up) and alive.
    const auto quiet = observe(c.local, std::chrono::seconds(60), [](const Observed&) { return false; });
    CHECK(quiet.states.count("home_data") == 0);
    CHECK(std::count(quiet.availability.begin(), quiet.availability.end(), "online") == 0);
    CHECK(diag(quiet, "timeouts") > 0);
    CHECK(c.bridge.process.running());
    c.cloud.sim.stop();
    c.cloud.start_sim(Case::with_seed({}));
    CHECK(wait_topic(
        c.local.ha, kBase + "availability", [](const std::string& t) { return t == "online"; }, std::chrono::seconds(60)));
    c.run(2);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
