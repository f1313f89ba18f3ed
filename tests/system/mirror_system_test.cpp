// The request mirror where the broker says no (docs/architecture.md, "The request mirror"): a broker
// may refuse the subscription to a device's request topic with a SUBACK failure code, or close the
// session over it; the bridge must fall back to running without the mirror and never loop on
// reconnects. (The broker that grants it and then delivers nothing is in contention_system_test.)
//
// The cloud broker is a real mosquitto with support/subscribe_acl_plugin loaded, answering the
// bridge's subscription to SUB/… with SUBACK 0x80 ("deny") or by closing the connection
// ("disconnect"); bluetti-sim plays the station and the vendor app reading it (--app-reads). Over a
// window of three core polls once values flow, the test counts the bridge's cloud connections (the
// broker's log), its subscriptions to the request topic (the plugin's record), and watches values
// keep reaching "Home Assistant".
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "observe.hpp"

using namespace bluetti;
using namespace bluetti::systest;

namespace {

const std::string kCloudClientId = "bridge-cloud-under-test";
constexpr auto kCore = std::chrono::seconds(2);
constexpr int kWindowPolls = 3;

struct SayingNo {
    Cloud cloud;
    Local local;
    Bridge bridge;

    explicit SayingNo(const std::string& answer)
        : cloud({{"EL100V2", kSerial, ""}}, {"--app-reads", "300:900", "--seed", "11"},
                CloudOptions{.subscribe_acl_plugin = BLUETTI_SUBSCRIBE_ACL_PLUGIN, .request_subscribe = answer}),
          local(cloud.dir) {
        bridge.write_config(cloud, local, cloud.dir, "Mirror Elite", "", "  client_id: " + kCloudClientId + "\n",
                            "{core: 2s, detail: 10s, battery: 10s, settings: 10s, info: 30s}");
        bridge.start(cloud.dir);
    }

    // "New client connected from 127.0.0.1:… as <id> (p4, …)" per CONNECT the broker accepted.
    std::size_t connections() const { return count_of(cloud.broker.log_text(), " as " + kCloudClientId + " ("); }
    // Subscriptions of the bridge to a request topic the plugin judged.
    std::size_t request_subscriptions() const {
        return count_of(read_text_file(cloud.dir.file("subscribes.log")), kCloudClientId + " SUB/");
    }
    std::size_t core_takes() const { return count_of(bridge.process.stderr_text(), kSerial + ": block 100 ("); }
    std::string describe() const { return "bridge: " + bridge.process.stderr_text() + "\ncloud broker: " + cloud.broker.log_text(); }

    // Waits until the bridge's log has `line` and the device is online with a state published.
    void wait_up(const std::string& line) {
        const auto seen = observe(local, kTimeout, [&](const Observed& s) {
            return !s.states.empty() && !s.availability.empty() && s.availability.back() == "online" &&
                   bridge.process.stderr_text().find(line) != std::string::npos;
        });
        REQUIRE_MESSAGE(!seen.states.empty(), describe());
        REQUIRE_MESSAGE(seen.availability.back() == "online", describe());
        REQUIRE_MESSAGE(bridge.process.stderr_text().find(line) != std::string::npos, "no \"" << line << "\" in\n" << describe());
    }

    // What "Home Assistant" sees while the bridge takes the core block kWindowPolls more times.
    Observed window() {
        const std::size_t before = core_takes();
        const auto seen =
            observe(local, kWindowPolls * kCore + kTimeout, [&](const Observed&) { return core_takes() >= before + kWindowPolls; });
        REQUIRE_MESSAGE(core_takes() >= before + kWindowPolls, "the core block was not read " << kWindowPolls << " times\n" << describe());
        return seen;
    }
};

// Values kept flowing: states published and the device never reported offline during the window.
void check_flowing(const Observed& seen, SayingNo& c) {
    std::size_t states = 0;
    for (const auto& [topic, payloads] : seen.states) states += payloads.size();
    CHECK_MESSAGE(states >= 2, "only " << states << " states published in the window\n" << c.describe());
    CHECK(std::find(seen.availability.begin(), seen.availability.end(), "offline") == seen.availability.end());
    CHECK(c.bridge.process.running());
}

}  // namespace

TEST_CASE("mirror refused with SUBACK 0x80: the bridge stays connected, says so, and keeps the device's values flowing") {
    SayingNo c("deny");
    c.wait_up("does not let us watch SUB/EL100V2/" + kSerial + " (SUBACK 0x80)");
    const Observed seen = c.window();
    check_flowing(seen, c);
    INFO(c.describe());
    CHECK(count_of(c.bridge.process.stderr_text(), "does not let us watch") == 1);
    CHECK(c.connections() == 1);            // no reconnect at all, let alone a loop
    CHECK(c.request_subscriptions() == 1);  // asked once, never again
}

TEST_CASE("mirror answered by closing the session: one reconnect, never asked again, values keep flowing") {
    SayingNo c("disconnect");
    c.wait_up("the broker closed the session right after we asked to watch the devices' request topics");
    const Observed seen = c.window();
    check_flowing(seen, c);
    INFO(c.describe());
    CHECK(count_of(c.cloud.broker.log_text(), "Client " + kCloudClientId + " disconnected, not authorised.") == 1);
    CHECK(c.connections() == 2);            // the one reconnect the fallback costs
    CHECK(c.request_subscriptions() == 1);  // the second session never asks for the request topic
}

int main(int argc, char** argv) {
    if (std::string(BLUETTI_SUBSCRIBE_ACL_PLUGIN).empty()) {
        std::cerr << "skipped: mosquitto_broker.h (Debian: mosquitto-dev) was not found at configure time, so there is no "
                     "subscribe_acl_plugin to load into the broker\n";
        return 77;
    }
    return run_system_tests(argc, argv);
}
