// "The app is open": another cloud client reads the same station while the bridge polls it
// (bluetti-sim --app-reads: random blocks and partial reads every 0.3–0.9 s), with the cloud's
// latency (--delay), alone, with pushes, with mixed faults, and with a broker that does not show
// the bridge the request topic. That client's FC 03 replies land on the bridge's reply topic and
// carry no address; the bridge must never take one for its own.
//
// The simulator logs every block it answers, decoded the way the bridge publishes it
// (--answers-log), to whichever client asked. Every value the bridge publishes must be one the
// device really answered for that key: a reply decoded as the wrong block shows up as a value the
// device never had. And: energy counters never rise faster than the model's power allows, the
// device stays online, its core block keeps being refreshed, and the diagnostics show the other
// client.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "bridge_log.hpp"
#include "device_answers.hpp"
#include "observe.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

constexpr auto kCore = std::chrono::seconds(6);
constexpr double kMaxPowerW = 1800 * 2;  // EL100V2 max_power × 2, as the plausibility ranges allow

// Every published value is one the device answered for that key. Returns how many were checked.
std::size_t check_against_device(const Observed& seen, const DeviceAnswers& answers) {
    std::size_t checked = 0;
    // Named copies, not structured bindings: clang 14 cannot capture those (CHECK_MESSAGE).
    for (const auto& [topic_, payloads] : seen.states)
        for (const auto& payload : payloads)
            for (const auto& item : payload.items()) {
                const std::string& topic = topic_;
                const std::string& key = item.key();
                const json& value = item.value();
                CHECK_MESSAGE(answers.answered(kSerial, topic, key, value),
                              topic << "." << key << " = " << value.dump() << " is no value the device answered");
                ++checked;
            }
    return checked;
}

// Energy counters never go down and never rise faster than the model's power allows.
void check_counters(const Observed& seen) {
    for (const auto& [topic_, payloads] : seen.states)
        for (const auto& key : seen.energy_keys) {
            const std::string& topic = topic_;
            std::vector<std::pair<double, std::chrono::steady_clock::time_point>> series;
            for (std::size_t i = 0; i < payloads.size(); ++i)
                if (payloads[i].contains(key) && payloads[i][key].is_number())
                    series.push_back({payloads[i][key].get<double>(), seen.arrived.at(topic)[i]});
            const auto problem = counter_problem(series, kMaxPowerW);
            CHECK_MESSAGE(!problem, topic << "." << key << " " << problem.value_or(""));
        }
}

// The core block keeps coming: no gap longer than three core intervals once it started (from the
// bridge's log: a state is only published when it changed).
void check_refreshed(const std::string& log) {
    const auto gaps = longest_block_gaps(log, 100);
    REQUIRE(gaps.count(kSerial));
    CHECK_MESSAGE(gaps.at(kSerial) <= 3 * std::chrono::duration<double>(kCore).count(),
                  "block 100 not refreshed for " << gaps.at(kSerial) << " s");
}

struct AppOpen {
    Cloud cloud;
    Local local;
    Bridge bridge;
    AppOpen(std::vector<std::string> sim_flags, CloudOptions options = {})
        : cloud({{"EL100V2", kSerial, ""}}, with_app(std::move(sim_flags)), options), local(cloud.dir) {
        bridge.write_config(cloud, local, cloud.dir, "Contended Elite", "", "",
                            "{core: 6s, detail: 20s, battery: 20s, settings: 30s, info: 60s}");
        bridge.start(cloud.dir);
    }
    static std::vector<std::string> with_app(std::vector<std::string> flags) {
        flags.insert(flags.end(), {"--app-reads", "300:900", "--seed", "11", "--answers-log", "{dir}/answers.jsonl"});
        return flags;
    }
    // Watches for `seconds`, then checks everything seen against what the device answered.
    Observed run(int seconds) {
        auto seen = observe(local, std::chrono::seconds(seconds), [](const Observed&) { return false; });
        INFO(bridge.process.describe(40));
        DeviceAnswers answers;
        answers.load(cloud.dir.file("answers.jsonl"));
        REQUIRE_FALSE(answers.empty());
        CHECK(check_against_device(seen, answers) > 100);
        check_counters(seen);
        check_refreshed(bridge.process.stderr_text());
        CHECK(always_online(seen));
        CHECK(bridge.process.running());
        return seen;
    }
};

}  // namespace

TEST_CASE("app open at 800 ms: the mirror shows the other client's reads, no wrong value") {
    AppOpen c({"--delay", "800"});
    const auto seen = c.run(75);
    CHECK(diag(seen, "foreign_replies") > 0);
    CHECK(seen.diagnostics.value("contention", "") == "ON");
}

TEST_CASE("app open at 400 ms, and the broker does not show the request topic: replies are confirmed before use") {
    AppOpen c({"--delay", "400"}, CloudOptions{.reply_topics_only = true});
    const auto seen = c.run(90);
    CHECK(diag(seen, "foreign_replies") == 0);  // no mirror: nothing can be attributed to the app
    CHECK(diag(seen, "unsolicited") > 0);
    CHECK(diag(seen, "confirmations") > 0);
    CHECK(seen.diagnostics.value("contention", "") == "ON");
}

TEST_CASE("app open at 100 ms with pushes and 5 % mixed faults") {
    AppOpen c(
        {"--delay", "100", "--push-every", "1", "--drop", "1.25", "--bad-crc", "1.25", "--exception", "1.25", "--short-reply", "1.25"});
    const auto seen = c.run(75);
    CHECK(diag(seen, "foreign_replies") > 0);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
