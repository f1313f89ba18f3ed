// The daemon against an Elite 200 V2 that answers as the live unit does (docs/simulator.md): it
// refuses 6300 x 25 with exception 02 and answers 6300 x 20, so the bridge must shrink the read
// instead of marking the block unsupported, and publish the cell voltages; it keeps grid charging
// at 2008 and its schedule at 2029–2047, read-only.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <csignal>

#include "bridge_fixture.hpp"
#include "observe.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

// The pack's cell voltages, once a pack_cells state carries all 16.
bool has_cells(const Observed& seen) {
    const auto it = seen.states.find("pack_cells");
    if (it == seen.states.end()) return false;
    for (const json& state : it->second)
        if (state.contains("battery_pack1_cell16_voltage")) return true;
    return false;
}

// Every state value that is one of the live unit's sentinels as the old profile decoded them:
// 0x0194 read as 404 (or 40.4 at 0.1, 148 % as its low byte) and the "not applicable" 5994 min.
std::vector<std::string> sentinel_values(const Observed& seen) {
    std::vector<std::string> found;
    for (const auto& [topic, payloads] : seen.states)
        for (const json& state : payloads)
            for (const auto& [key, value] : state.items()) {
                if (!value.is_number()) continue;
                const double v = value.get<double>();
                // 148 is only a sentinel where a percentage is read: 148 W is a power like any other.
                const bool percentage = key.find("soc") != std::string::npos || key.find("soh") != std::string::npos;
                for (const double sentinel : {404.0, 40.4, 5994.0, 148.0})
                    if (std::abs(v - sentinel) < 1e-9 && (sentinel != 148.0 || percentage))
                        found.push_back(topic + "." + key + " = " + value.dump());
            }
    return found;
}

}  // namespace

TEST_CASE("Elite 200 V2: a refused 6300 x 25 is read as 6300 x 20, for the session, the cell voltages are published") {
    Cloud cloud({{"ELITE200V2", kSerial, ""}}, {"-v"});  // -v: every request in the simulator's log
    Local local(cloud.dir);
    Bridge bridge;
    bridge.write_config(cloud, local, cloud.dir, "Cabin Elite", "", "", "{core: 2s, battery: 4s, settings: 4s, cells: 3s, info: 10s}",
                        "ELITE200V2");
    bridge.start(cloud.dir);

    const std::string answered_20 = "FC 03 read 6300×20 at slave 0 → 20 registers";
    // Until the cells were published and 6300 was read at least twice more after the search.
    const Observed seen = observe(local, std::chrono::seconds(60), [&](const Observed& s) {
        return has_cells(s) && s.states.count("inv_base_settings") && count_of(cloud.sim.stderr_text(), answered_20) >= 3;
    });
    REQUIRE_MESSAGE(has_cells(seen), bridge.process.describe(40));

    const json& cells = seen.states.at("pack_cells").back();
    for (int i = 1; i <= 16; ++i) {
        const std::string key = "battery_pack1_cell" + std::to_string(i) + "_voltage";
        CAPTURE(key);
        REQUIRE(cells.contains(key));
        CHECK(cells[key].get<double>() >= 2.0);
        CHECK(cells[key].get<double>() <= 4.5);
    }

    // The registers the unit does not implement are absent, never a value, and offer no control.
    const auto sentinels = sentinel_values(seen);
    CHECK_MESSAGE(sentinels.empty(), json(sentinels).dump(1));
    REQUIRE(seen.device_config.contains("components"));
    const json& components = seen.device_config["components"];
    for (const char* control :
         {"feed_in_switch", "inverter_switch", "grid_charge_power_limit", "feed_in_power_limit", "ac_output_current_limit"}) {
        CAPTURE(control);
        CHECK_FALSE(components.contains(control));
    }

    // Block 2000 read as 48 registers: grid charging from 2008 (read-only: the whitelist writes
    // 2207), the working mode, the time-control switch and the six time slots.
    REQUIRE(seen.states.count("inv_base_settings"));
    const json& base = seen.states.at("inv_base_settings").back();
    CHECK(base.value("grid_charge_switch", json()) == json("ON"));
    CHECK(base.value("working_mode", json()) == json("standard_ups"));
    CHECK(base.value("time_control_switch", json()) == json("ON"));
    CHECK(base.value("time_slot1_mode", json()) == json("charge"));
    CHECK(base.value("time_slot1_start", json()) == json("01:00"));
    CHECK(base.value("time_slot1_end", json()) == json("05:30"));
    CHECK(base.value("time_slot2_mode", json()) == json("discharge"));
    CHECK(base.value("time_slot6_mode", json()) == json("off"));
    REQUIRE(components.contains("grid_charge_switch"));
    CHECK(components["grid_charge_switch"]["platform"] == "binary_sensor");
    CHECK_FALSE(components["grid_charge_switch"].contains("command_topic"));
    REQUIRE(components.contains("working_mode"));
    CHECK(components["working_mode"]["platform"] == "sensor");
    CHECK(components["working_mode"]["device_class"] == "enum");
    REQUIRE(components.contains("time_slot1_start"));
    CHECK(components["time_slot1_start"]["enabled_by_default"] == false);
    CHECK_FALSE(base.contains("inverter_switch"));

    const std::string sim_log = cloud.sim.stderr_text();
    CHECK_MESSAGE(count_of(sim_log, answered_20) >= 3, sim_log);
    CHECK(count_of(sim_log, "FC 03 read 2000×48 at slave 0 → 48 registers") >= 1);
    // Refused once, then never asked again: the smaller size is kept for the session.
    CHECK(count_of(sim_log, "FC 03 read 6300×25 at slave 0 (runs past the block's end) → exception 2") == 1);
    CHECK(count_of(sim_log, "FC 03 read 6300×2 at slave 0") == 0);  // never down to the minimum: 20 was found first
    const std::string bridge_log = bridge.process.stderr_text();
    CHECK_MESSAGE(
        bridge_log.find("block 6300 at slave 0 is read as 20 registers: the device refused 25 (exception 02)") != std::string::npos,
        bridge_log);

    REQUIRE(bridge.process.signal(SIGTERM));
    CHECK_MESSAGE(bridge.process.wait(std::chrono::seconds(20)) == 0, bridge.process.stderr_text());
    CHECK(cloud.sim.stop() == 0);
    CHECK(cloud.sim.stderr_text().find("forbidden_writes=0") != std::string::npos);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
