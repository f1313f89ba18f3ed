// Two instances of systemd/bluetti-bridge@.service side by side on one local broker, each for its own
// account (its own bluetti-sim: REST stand-in and cloud broker) and station. Each runs as the
// template starts it: `--config <dir>/<instance>.yaml`, the state directory in $STATE_DIRECTORY and
// the password as the credential bluetti-password in $CREDENTIALS_DIRECTORY; the files differ only in
// client_id and base_topic, as docs/configuration.md asks of a second bridge. A restart of either
// instance leaves the other's discovery configs and availability untouched.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <filesystem>

#include "observe.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

// One instance NAME of bluetti-bridge@.service, laid out as the template does it.
struct Instance {
    std::string name, serial;
    const Cloud& cloud;
    ChildProcess process;
    Instance(const Cloud& account, const Local& local, std::string instance, std::string station)
        : name(std::move(instance)), serial(std::move(station)), cloud(account) {
        const TempDir& dir = cloud.dir;
        // /etc/bluetti-bridge/%i.yaml: no password in it (the credential gives it), no state_dir.
        REQUIRE(write_text_file(dir.file(name + ".yaml"),
                                "cloud:\n  email: " + kEmail + "\n  api: " + cloud.api() + "\n  broker: " + cloud.broker.address() +
                                    "\n  ca_file: " + certificates().ca_cert +
                                    "\nhomeassistant:\n  broker: mqtt://127.0.0.1:" + std::to_string(local.broker.port()) +
                                    "\n  client_id: " + name + "\n  base_topic: " + name + "\n  state_delay: 1s\n"));
        // LoadCredential=bluetti-password:/etc/bluetti-bridge/%i.password
        std::filesystem::create_directories(dir.file("credentials-" + name));
        REQUIRE(write_text_file(dir.file("credentials-" + name + "/bluetti-password"), kPassword + "\n"));
    }
    std::string state_dir() const { return cloud.dir.file("bluetti-bridge-" + name); }  // StateDirectory=bluetti-bridge-%i
    void start() {
        ChildOptions o;
        o.stderr_file = cloud.dir.file(name + ".log");
        o.env = {"STATE_DIRECTORY=" + state_dir(), "CREDENTIALS_DIRECTORY=" + cloud.dir.file("credentials-" + name)};
        std::string error;
        REQUIRE_MESSAGE(process.start(BLUETTI_BRIDGE_BINARY, {"--config", cloud.dir.file(name + ".yaml")}, o, error), error);
    }
    std::string device_config() const { return "homeassistant/device/bluetti_" + serial + "/config"; }
    std::string bridge_config() const { return "homeassistant/device/bluetti_bridge_" + name + "/config"; }
    std::string availability() const { return name + "/" + serial + "/availability"; }
    std::string bridge_availability() const { return name + "/bridge/availability"; }
    // Any of this instance's discovery configs cleared, or its availability going offline.
    bool touched_by(const MqttMessage& m) const {
        if (m.topic == device_config() || m.topic == bridge_config()) return m.payload.empty();
        if (m.topic == availability() || m.topic == bridge_availability()) return m.text() != "online";
        return false;
    }
};

bool has_components(const std::string& text) {
    const auto j = json::parse(text, nullptr, false);
    return !j.is_discarded() && j.contains("components") && !j["components"].empty();
}

// Waits until `instance` has published its device config and both of its availabilities say online.
// Every message on the way is also checked against `other`: none may touch it.
void wait_up(Local& local, const Instance& instance, const Instance& other) {
    bool config = false, online = false, bridge_online = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline && !(config && online && bridge_online)) {
        auto m = local.ha.wait_message([](const MqttMessage&) { return true; }, std::chrono::milliseconds(500));
        if (!m) continue;
        CHECK_MESSAGE(!other.touched_by(*m), m->topic << " '" << m->text() << "' while " << instance.name << " started");
        if (m->topic == instance.device_config() && has_components(m->text())) config = true;
        if (m->topic == instance.availability()) online = m->text() == "online";
        if (m->topic == instance.bridge_availability()) bridge_online = m->text() == "online";
    }
    REQUIRE_MESSAGE((config && online && bridge_online), instance.name << ": " << instance.process.describe(30));
}

// Stops `instance` (SIGTERM: it says offline) and starts it again; `other` stays as it was.
void restart(Local& local, Instance& instance, const Instance& other) {
    CHECK(instance.process.stop() == 0);
    auto offline = local.ha.wait_message(
        [&](const MqttMessage& m) {
            CHECK_MESSAGE(!other.touched_by(m), m.topic << " '" << m.text() << "' while " << instance.name << " stopped");
            return m.topic == instance.availability() && m.text() == "offline";
        },
        kTimeout);
    CHECK(offline.has_value());
    instance.start();
    wait_up(local, instance, other);
}

}  // namespace

TEST_CASE("two instances for two accounts on one broker keep their own entities across each other's restarts") {
    Cloud garage_account({{"EL100V2", "2345000000002", ""}});
    Cloud cabin_account({{"EL30V2", "2330000000001", ""}});
    Local local(garage_account.dir);
    for (const char* base : {"garage/#", "cabin/#"}) REQUIRE(local.ha.subscribe(base, kTimeout));
    Instance garage(garage_account, local, "garage", "2345000000002");
    Instance cabin(cabin_account, local, "cabin", "2330000000001");

    garage.start();
    wait_up(local, garage, cabin);
    cabin.start();
    wait_up(local, cabin, garage);

    restart(local, cabin, garage);
    restart(local, garage, cabin);
    // Nothing of either was cleared after the restarts' clean-ups either.
    CHECK_FALSE(
        local.ha.wait_message([&](const MqttMessage& m) { return garage.touched_by(m) || cabin.touched_by(m); }, std::chrono::seconds(3)));

    for (Instance* i : {&garage, &cabin}) {
        CAPTURE(i->name);
        CHECK(has_components(retained_now(local, i->device_config())));
        CHECK_FALSE(retained_now(local, i->bridge_config()).empty());
        CHECK(retained_now(local, i->availability()) == "online");
        CHECK(retained_now(local, i->bridge_availability()) == "online");
        // Each kept its state in its own StateDirectory.
        CHECK(std::filesystem::exists(i->state_dir() + "/device-id"));
        CHECK(i->process.running());
    }
    // Two distinct sessions on the broker: neither instance ever took over the other's client id.
    CHECK(local.broker.log_text().find("already connected, closing old connection") == std::string::npos);
    CHECK(garage.process.stop() == 0);
    CHECK(cabin.process.stop() == 0);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
