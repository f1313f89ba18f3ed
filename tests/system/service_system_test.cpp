// The daemon as its surroundings see it: systemd's sd_notify messages on a NOTIFY_SOCKET the test
// owns (READY=1 once the user's broker is connected, STATUS= lines, WATCHDOG=1 at half of
// WATCHDOG_USEC, STOPPING=1), and a user's broker that speaks only TLS (mqtts://, ca_file).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "bridge_fixture.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

// A unix datagram socket as systemd's notify socket: every line of every datagram, in order.
class NotifySocket {
public:
    explicit NotifySocket(std::string path) : path_(std::move(path)) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        REQUIRE(path_.size() < sizeof(address.sun_path));
        std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
        REQUIRE_MESSAGE(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0, std::strerror(errno));
    }
    ~NotifySocket() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    const std::string& path() const { return path_; }
    const std::vector<std::string>& lines() const { return lines_; }
    std::size_t count(const std::string& prefix) const {
        return static_cast<std::size_t>(
            std::count_if(lines_.begin(), lines_.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; }));
    }

    // Receives until `enough` holds or `timeout` passes.
    bool wait(const std::function<bool()>& enough, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!enough()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buffer[4096];
            const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) continue;
            std::istringstream in(std::string(buffer, static_cast<std::size_t>(n)));
            for (std::string line; std::getline(in, line);) lines_.push_back(line);
        }
        return true;
    }

    std::string describe() const {
        std::string s;
        for (const auto& l : lines_) s += l + " | ";
        return s;
    }

private:
    std::string path_;
    int fd_ = -1;
    std::vector<std::string> lines_;
};

void start_bridge(Bridge& bridge, const TempDir& dir, std::vector<std::string> env = {}) {
    ChildOptions o;
    o.stderr_file = dir.file("bridge.log");
    o.env = std::move(env);
    std::string error;
    REQUIRE_MESSAGE(bridge.process.start(BLUETTI_BRIDGE_BINARY, {"--config", bridge.config_file, "-v"}, o, error), error);
}

}  // namespace

TEST_CASE("sd_notify: READY=1 once the local broker is connected, STATUS= lines, WATCHDOG=1, STOPPING=1") {
    Cloud cloud;
    Local local(cloud.dir);
    NotifySocket notify(cloud.dir.file("notify.sock"));
    Bridge bridge;
    bridge.write_config(cloud, local, cloud.dir, "Notify Elite");
    // The watchdog at 400 ms: the daemon kicks it every 200 ms.
    start_bridge(bridge, cloud.dir, {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=400000"});

    INFO(bridge.process.describe(30));
    REQUIRE_MESSAGE(notify.wait([&] { return notify.count("READY=1") > 0; }, kTimeout), notify.describe());
    // Ready means the user's broker is there: the bridge's own availability is retained on it by then.
    CHECK(wait_topic(local.ha, "bluetti/bridge/availability", [](const std::string& t) { return t == "online"; }).has_value());
    CHECK_MESSAGE(notify.wait([&] { return notify.count("STATUS=cloud: ") > 0 && notify.count("WATCHDOG=1") >= 3; }, kTimeout),
                  notify.describe());
    // Once the device answers, the status line says so.
    CHECK_MESSAGE(notify.wait(
                      [&] {
                          return std::any_of(notify.lines().begin(), notify.lines().end(), [](const std::string& l) {
                              return l.rfind("STATUS=cloud: ", 0) == 0 && l.find("1/1 devices online") != std::string::npos;
                          });
                      },
                      kTimeout),
                  notify.describe());
    CHECK(notify.count("READY=1") == 1);  // once per process, not per reconnect

    REQUIRE(bridge.process.signal(SIGTERM));
    CHECK(notify.wait([&] { return notify.count("STOPPING=1") > 0; }, kTimeout));
    CHECK(bridge.process.wait(kTimeout) == 0);
}

TEST_CASE("sd_notify: no WATCHDOG_USEC, no watchdog kicks") {
    Cloud cloud;
    Local local(cloud.dir);
    NotifySocket notify(cloud.dir.file("notify.sock"));
    Bridge bridge;
    bridge.write_config(cloud, local, cloud.dir, "Notify Elite");
    start_bridge(bridge, cloud.dir, {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC="});
    INFO(bridge.process.describe(30));
    // Until the device is online: several status lines have come by then, and no WATCHDOG=1.
    REQUIRE_MESSAGE(notify.wait(
                        [&] {
                            return std::any_of(notify.lines().begin(), notify.lines().end(), [](const std::string& l) {
                                return l.rfind("STATUS=cloud: ", 0) == 0 && l.find("1/1 devices online") != std::string::npos;
                            });
                        },
                        kTimeout),
                    notify.describe());
    CHECK(notify.count("READY=1") == 1);
    CHECK(notify.count("WATCHDOG=1") == 0);
    CHECK(bridge.process.stop() == 0);
}

TEST_CASE("a TLS-only local broker: mqtts:// with ca_file, entities and values arrive") {
    Cloud cloud;
    MosquittoOptions o;
    o.tls = true;
    o.ca_file = certificates().ca_cert;
    o.cert_file = certificates().server_cert;
    o.key_file = certificates().server_key;
    o.require_certificate = false;  // a user's broker: TLS with a password, no client certificate
    TempDir local_dir("bluetti-local-tls");
    Mosquitto broker(o);
    std::string error;
    REQUIRE_MESSAGE(broker.start(local_dir.path(), error), error);

    MqttTestClient ha;
    mqtt::Options mo;
    mo.port = broker.port();
    mo.client_id = "home-assistant";
    mo.tls = true;
    mo.ca_file = certificates().ca_cert;
    REQUIRE_MESSAGE(ha.connect(mo, kTimeout, error), error);
    REQUIRE(ha.subscribe("homeassistant/#", kTimeout));
    REQUIRE(ha.subscribe("bluetti/#", kTimeout));

    Bridge bridge;
    bridge.config_file = cloud.dir.file("config.yaml");
    write_text_file(cloud.dir.file("password"), kPassword + "\n");
    REQUIRE(write_text_file(bridge.config_file, "cloud:\n  email: " + kEmail + "\n  password_file: " + cloud.dir.file("password") +
                                                    "\n  api: " + cloud.api() + "\n  broker: " + cloud.broker.address() +
                                                    "\n  ca_file: " + certificates().ca_cert +
                                                    "\n  request_timeout: 2s\n"
                                                    "homeassistant:\n  broker: mqtts://127.0.0.1:" +
                                                    std::to_string(broker.port()) + "\n  ca_file: " + certificates().ca_cert +
                                                    "\n  client_id: bridge-under-test\n  state_delay: 1s\n"
                                                    "devices:\n  - serial: \"" +
                                                    kSerial + "\"\n    model: EL100V2\n    name: TLS Elite\n    poll: {core: 2s}\n" +
                                                    "state_dir: " + cloud.dir.file("state") + "\n"));
    start_bridge(bridge, cloud.dir);
    INFO(bridge.process.describe(30));
    INFO(broker.log_text());

    // The device's config once its blocks have been read (the first one may come before any data).
    auto config = wait_topic(ha, "homeassistant/device/bluetti_" + kSerial + "/config", [](const std::string& t) {
        const auto c = json::parse(t, nullptr, false);
        return c.is_object() && c["components"].is_object() && c["components"].contains("grid_frequency");
    });
    CHECK(config.has_value());
    auto state = wait_topic(ha, "bluetti/" + kSerial + "/home_data", [](const std::string& t) {
        const auto s = json::parse(t, nullptr, false);
        return s.is_object() && s.value("device_serial", "") == kSerial;
    });
    CHECK(state.has_value());
    CHECK(bridge.process.stop() == 0);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
