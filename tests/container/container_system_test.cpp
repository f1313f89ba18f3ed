// The container image and the Home Assistant add-on (packaging/container, packaging/homeassistant-addon)
// built with podman from this build's programs on a Debian 12 base made by mmdebstrap, run against
// bluetti-sim and real mosquitto brokers on 127.0.0.1 (--network=host):
//   - the image bridges every station of the account to the local broker as its non-root user, keeps
//     its state in the volume, passes its HEALTHCHECK, and on `podman stop` (SIGTERM to PID 1)
//     publishes offline and exits 0;
//   - the add-on's entry point takes the broker and its login from a stand-in of the Supervisor's
//     MQTT service, writes a configuration the bridge's --check-config accepts with the passwords in
//     0600 files and nowhere in the log, and the bridge it becomes reaches the broker with that login;
//     options the bridge refuses stop the add-on with --check-config's message in its log.
// Exit 77 (skipped) without podman, mmdebstrap, mosquitto or openssl, or where podman cannot run
// containers.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "fixture.hpp"
#include "podman.hpp"

using namespace bluetti;
using namespace bluetti::systest;
namespace fs = std::filesystem;

namespace {

Podman& podman() {
    static Podman p;
    return p;
}

bool on_path(const std::string& program) {
    return run_command("sh", {"-c", "command -v " + program}, std::chrono::seconds(10)).status == 0;
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// "Home Assistant": a client on the local broker that records what the bridge publishes.
struct HomeAssistant {
    MqttTestClient client;
    HomeAssistant(int port, const std::string& username = "", const std::string& password = "") {
        mqtt::Options o;
        o.port = port;
        o.client_id = "home-assistant";
        o.username = username;
        o.password = password;
        std::string error;
        REQUIRE_MESSAGE(client.connect(o, kTimeout, error), error);
        REQUIRE(client.subscribe("homeassistant/#", kTimeout));
        REQUIRE(client.subscribe("bluetti/#", kTimeout));
    }
    // Waits until every serial has its device discovery config (with state entities) and is online.
    // Takes only those messages out of the inbox: the rest stays for sees().
    bool stations_appear(const std::vector<std::string>& serials, std::map<std::string, nlohmann::json>& configs) {
        std::set<std::string> online;
        auto config_topic = [](const std::string& sn) { return "homeassistant/device/bluetti_" + sn + "/config"; };
        auto availability_topic = [](const std::string& sn) { return "bluetti/" + sn + "/availability"; };
        auto station_message = [&](const MqttMessage& m) {
            for (const auto& sn : serials)
                if (m.topic == config_topic(sn) || m.topic == availability_topic(sn)) return true;
            return false;
        };
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
        while (std::chrono::steady_clock::now() < deadline && (configs.size() < serials.size() || online.size() < serials.size())) {
            auto m = client.wait_message(station_message, std::chrono::milliseconds(500));
            if (!m) continue;
            for (const auto& sn : serials) {
                if (m->topic == config_topic(sn)) {
                    auto j = nlohmann::json::parse(m->text(), nullptr, false);
                    if (!j.is_discarded() && j.contains("components") && !j["components"].empty()) configs[sn] = j;
                }
                if (m->topic == availability_topic(sn) && m->text() == "online") online.insert(sn);
            }
        }
        return configs.size() == serials.size() && online.size() == serials.size();
    }
    bool sees(const std::string& topic, const std::string& payload) {
        return client.wait_message([&](const MqttMessage& m) { return m.topic == topic && m.text() == payload; }, kTimeout).has_value();
    }
};

// A container started with `podman run` in the foreground (its output in `log`), stopped with
// `podman stop` as a user (or Docker Compose) would.
struct Container {
    std::string name, log;
    ChildProcess process;
    Container(const TempDir& dir, const std::string& container_name, const std::vector<std::string>& options, const std::string& image) {
        name = container_name;
        log = dir.file(name + ".log");
        auto a = podman().args({"run", "--rm", "--name", name});
        for (const auto& o : Podman::run_options()) a.push_back(o);
        a.insert(a.end(), options.begin(), options.end());
        a.push_back(image);
        ChildOptions o;
        o.stdout_file = dir.file(name + ".out");
        o.stderr_file = log;
        std::string error;
        REQUIRE_MESSAGE(process.start("podman", a, o, error), error);
    }
    // SIGTERM to PID 1 (the image's STOPSIGNAL), up to 30 s before SIGKILL: the container's exit status.
    std::optional<int> stop() {
        podman().run({"stop", "--time", "30", name}, std::chrono::seconds(60));
        return process.wait(std::chrono::seconds(60));
    }
    // What the container wrote: stderr (the log), then stdout.
    std::string output() const { return read_text_file(log) + read_text_file(log.substr(0, log.size() - 4) + ".out"); }
};

// The Supervisor's `GET /services/mqtt`, answering only with the right bearer token.
class SupervisorStandIn {
public:
    SupervisorStandIn(std::string token, nlohmann::json mqtt) : token_(std::move(token)), mqtt_(std::move(mqtt)) {
        server_.Get("/services/mqtt", [this](const httplib::Request& req, httplib::Response& res) {
            ++requests_;
            if (req.get_header_value("Authorization") != "Bearer " + token_) {
                res.status = 401;
                res.set_content(R"({"result":"error","message":"Unauthorized"})", "application/json");
                return;
            }
            res.set_content(nlohmann::json{{"result", "ok"}, {"data", mqtt_}}.dump(), "application/json");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        REQUIRE(port_ > 0);
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    ~SupervisorStandIn() {
        server_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int requests() const { return requests_; }

private:
    std::string token_;
    nlohmann::json mqtt_;
    httplib::Server server_;
    int port_ = 0;
    std::atomic<int> requests_{0};
    std::thread thread_;
};

}  // namespace

TEST_CASE("the image bridges every station of the account as a non-root user and stops cleanly") {
    Cloud cloud({{"EL100V2", "2345000000002", ""}, {"EL30V2", "2330000000001", ""}});
    Mosquitto local;
    std::string error;
    REQUIRE_MESSAGE(local.start(cloud.dir.path(), error), error);
    HomeAssistant ha(local.port());

    // What a user mounts: the configuration read-only at /config, the password as a secret file.
    TempDir mounts("bluetti-container-mounts");
    REQUIRE(write_text_file(mounts.file("account.password"), kPassword + "\n"));
    REQUIRE(write_text_file(mounts.file("config.yaml"),
                            "cloud:\n  email: " + kEmail + "\n  password_file: /run/secrets/bluetti-password\n  api: " + cloud.api() +
                                "\n  broker: " + cloud.broker.address() +
                                "\n  ca_file: /run/secrets/ca.crt\nhomeassistant:\n  broker: mqtt://127.0.0.1:" +
                                std::to_string(local.port()) + "\n  client_id: bridge-in-a-container\n"));
    // The image's user (uid 10001) reads them; the directory around them stays private.
    fs::permissions(mounts.file("account.password"), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    fs::permissions(mounts.file("config.yaml"), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    const std::string volume = podman().name("state");
    Container bridge(cloud.dir, podman().name("bridge"),
                     // No health timer (it needs systemd); `podman healthcheck run` runs the check below.
                     {"--health-interval=disable", "-v", mounts.file("config.yaml") + ":/config/config.yaml:ro", "-v",
                      mounts.file("account.password") + ":/run/secrets/bluetti-password:ro", "-v",
                      certificates().ca_cert + ":/run/secrets/ca.crt:ro", "-v", volume + ":/var/lib/bluetti-bridge"},
                     podman().image());

    std::map<std::string, nlohmann::json> configs;
    REQUIRE_MESSAGE(ha.stations_appear({"2345000000002", "2330000000001"}, configs), bridge.output());
    CHECK(configs["2345000000002"]["components"].size() > 10);
    CHECK(configs["2330000000001"]["components"].size() > 10);
    CHECK(ha.sees("bluetti/bridge/availability", "online"));

    // The bridge runs as the image's user, not as root.
    const auto id = podman().run({"exec", bridge.name, "id", "-u"});
    CHECK(id.output == "10001\n");
    // The HEALTHCHECK: the configuration, its secrets and the state directory check out.
    const auto health = podman().run({"healthcheck", "run", bridge.name});
    CHECK_MESSAGE(health.status == 0, health.output);

    // podman stop: SIGTERM reaches the bridge as PID 1; it says offline for itself and each station.
    const auto status = bridge.stop();
    REQUIRE_MESSAGE(status.has_value(), "the container did not stop: " << bridge.output());
    CHECK_MESSAGE(*status == 0, bridge.output());
    CHECK(ha.sees("bluetti/bridge/availability", "offline"));

    // The state is in the volume, owned by the image's user, private.
    std::vector<std::string> look{"run", "--rm"};
    for (const auto& o : Podman::run_options()) look.push_back(o);
    look.insert(look.end(), {"--no-healthcheck", "-v", volume + ":/var/lib/bluetti-bridge", "--entrypoint", "/bin/sh", podman().image(),
                             "-c", "stat -c '%a %u %n' /var/lib/bluetti-bridge /var/lib/bluetti-bridge/device-id"});
    const auto state = podman().run(look);
    CHECK_MESSAGE(
        state.output.find("700 10001 /var/lib/bluetti-bridge\n600 10001 /var/lib/bluetti-bridge/device-id\n") != std::string::npos,
        state.output);
}

namespace {

// The add-on's /data: options.json as the Supervisor writes it.
void write_options(const TempDir& data, const nlohmann::json& options) {
    REQUIRE(write_text_file(data.file("options.json"), options.dump()));
}

std::vector<std::string> addon_options(const TempDir& data, const SupervisorStandIn& supervisor, const std::string& token,
                                       const Cloud& cloud) {
    return {"-v", data.path() + ":/data",
            "-v", certificates().ca_cert + ":/ca.crt:ro",
            "-e", "SUPERVISOR_TOKEN=" + token,
            "-e", "BLUETTI_SUPERVISOR_URL=" + supervisor.url(),
            "-e", "BLUETTI_CLOUD_API=" + cloud.api(),
            "-e", "BLUETTI_CLOUD_BROKER=" + cloud.broker.address(),
            "-e", "BLUETTI_CLOUD_CA_FILE=/ca.crt"};
}

}  // namespace

TEST_CASE("the add-on takes the broker from the Supervisor and its options into a configuration the bridge accepts") {
    Cloud cloud({{"EL100V2", "2345000000002", ""}});
    // The Mosquitto add-on's broker: no anonymous clients.
    const std::string mqtt_user = "addons", mqtt_password = "Broker pass: 'quoted' \"too\" #1";
    TempDir auth("bluetti-addon-auth");
    const auto passwd = run_command("mosquitto_passwd", {"-c", "-b", auth.file("passwd"), mqtt_user, mqtt_password});
    REQUIRE_MESSAGE(passwd.status == 0, passwd.output);
    REQUIRE(run_command("mosquitto_passwd", {"-b", auth.file("passwd"), "homeassistant", "ha-password"}).status == 0);
    MosquittoOptions broker_options;
    broker_options.extra_config = {"allow_anonymous false", "password_file " + auth.file("passwd")};
    Mosquitto local(broker_options);
    std::string error;
    REQUIRE_MESSAGE(local.start(cloud.dir.path(), error), error);
    {  // the broker really refuses a client without the login
        MqttTestClient anonymous;
        mqtt::Options o;
        o.port = local.port();
        o.client_id = "anonymous";
        CHECK_FALSE(anonymous.connect(o, kTimeout, error));
    }
    HomeAssistant ha(local.port(), "homeassistant", "ha-password");

    const std::string token = "supervisor-token-0123456789abcdef";
    SupervisorStandIn supervisor(token, {{"host", "127.0.0.1"},
                                         {"port", local.port()},
                                         {"ssl", false},
                                         {"protocol", "3.1.1"},
                                         {"username", mqtt_user},
                                         {"password", mqtt_password},
                                         {"addon", "core_mosquitto"}});
    TempDir data("bluetti-addon-data");
    const std::string account_password = kPassword;
    write_options(data, {{"email", kEmail},
                         {"password", account_password},
                         {"devices", {{{"serial", "2345000000002"}, {"name", "Garage \"Elite\": 100 #1"}}}},
                         {"discovery", "device"},
                         {"log_level", "info"}});

    Container addon(cloud.dir, podman().name("addon"), addon_options(data, supervisor, token, cloud), podman().addon());
    std::map<std::string, nlohmann::json> configs;
    REQUIRE_MESSAGE(ha.stations_appear({"2345000000002"}, configs), addon.output());
    CHECK(supervisor.requests() == 1);
    // The name went through JSON -> YAML unchanged.
    CHECK(configs["2345000000002"]["device"]["name"] == "Garage \"Elite\": 100 #1");

    // The configuration the entry point wrote: the broker and login from the Supervisor, the
    // passwords in 0600 files only.
    const std::string dir = data.file("bluetti-bridge");
    const std::string config = read_text_file(dir + "/config.yaml");
    CHECK_MESSAGE(config.find("broker: \"mqtt://127.0.0.1:" + std::to_string(local.port()) + "\"") != std::string::npos, config);
    CHECK_MESSAGE(config.find("username: \"addons\"") != std::string::npos, config);
    CHECK_MESSAGE(config.find("password_file: \"/data/bluetti-bridge/mqtt.password\"") != std::string::npos, config);
    CHECK(config.find(mqtt_password) == std::string::npos);
    CHECK(config.find(account_password) == std::string::npos);
    CHECK(read_text_file(dir + "/mqtt.password") == mqtt_password);
    CHECK(read_text_file(dir + "/account.password") == account_password);
    CHECK(mode_of(dir + "/mqtt.password") == 0600);
    CHECK(mode_of(dir + "/account.password") == 0600);
    CHECK(mode_of(dir + "/config.yaml") == 0600);
    CHECK(mode_of(dir) == 0700);
    const auto check =
        podman().run({"exec", addon.name, "bluetti-bridge", "--check-config", "--config", "/data/bluetti-bridge/config.yaml"});
    CHECK_MESSAGE(check.status == 0, check.output);

    const auto status = addon.stop();
    REQUIRE(status.has_value());
    CHECK_MESSAGE(*status == 0, addon.output());
    CHECK(ha.sees("bluetti/bridge/availability", "offline"));
    // No secret in the add-on log.
    const std::string log = addon.output();
    CHECK(log.find("broker mqtt://127.0.0.1:" + std::to_string(local.port()) + " as user addons") != std::string::npos);
    CHECK(log.find(mqtt_password) == std::string::npos);
    CHECK(log.find(account_password) == std::string::npos);
    CHECK(log.find(token) == std::string::npos);
}

TEST_CASE("the add-on stops with --check-config's message when the bridge refuses an option") {
    Cloud cloud({{"EL100V2", "2345000000002", ""}});
    Mosquitto local;
    std::string error;
    REQUIRE_MESSAGE(local.start(cloud.dir.path(), error), error);
    const std::string token = "another-token";
    SupervisorStandIn supervisor(token, {{"host", "127.0.0.1"}, {"port", local.port()}, {"ssl", false}, {"protocol", "3.1.1"}});
    TempDir data("bluetti-addon-data");
    // The add-on's schema lets any model text through; the bridge knows its profiles.
    write_options(data, {{"email", kEmail},
                         {"password", kPassword},
                         {"devices", {{{"serial", "2345000000002"}, {"model", "Elite 900 V7"}}}},
                         {"discovery", "entity"},
                         {"log_level", "info"}});
    Container addon(cloud.dir, podman().name("addon-bad"), addon_options(data, supervisor, token, cloud), podman().addon());
    const auto status = addon.process.wait(std::chrono::seconds(60));
    REQUIRE_MESSAGE(status.has_value(), addon.output());
    CHECK(*status != 0);
    const std::string log = addon.output();
    CHECK_MESSAGE(log.find("/data/bluetti-bridge/config.yaml:") != std::string::npos, log);
    CHECK_MESSAGE(log.find("Elite 900 V7") != std::string::npos, log);
    CHECK_MESSAGE(log.find("the options above are not valid") != std::string::npos, log);
    // No login on the broker: the entry point never became the bridge. (A wrong token is refused.)
    CHECK(local.log_text().find("bluetti-bridge") == std::string::npos);
}

TEST_CASE("the add-on refuses to start without the Supervisor's broker") {
    Cloud cloud({{"EL100V2", "2345000000002", ""}});
    SupervisorStandIn supervisor("the-right-token", {{"host", "127.0.0.1"}, {"port", 1883}, {"ssl", false}});
    TempDir data("bluetti-addon-data");
    write_options(data, {{"email", kEmail}, {"password", kPassword}, {"devices", nlohmann::json::array()}, {"discovery", "device"}});
    Container addon(cloud.dir, podman().name("addon-token"), addon_options(data, supervisor, "a-wrong-token", cloud), podman().addon());
    const auto status = addon.process.wait(std::chrono::seconds(60));
    REQUIRE_MESSAGE(status.has_value(), addon.output());
    CHECK(*status == 1);
    CHECK(supervisor.requests() == 1);
    CHECK_MESSAGE(addon.output().find("no answer from the Supervisor's MQTT service") != std::string::npos, addon.output());
    CHECK_FALSE(fs::exists(data.file("bluetti-bridge/config.yaml")));
}

int main(int argc, char** argv) {
    if (!Mosquitto::available() || !TestCertificates::available()) {
        std::cerr << "skipped: mosquitto or openssl is not installed\n";
        return 77;
    }
    for (const char* tool : {"podman", "mmdebstrap", "mosquitto_passwd"}) {
        if (!on_path(tool)) {
            std::cerr << "skipped: " << tool << " is not installed (scripts/lib/packages.sh lists it)\n";
            return 77;
        }
    }
    std::string why;
    const int built = podman().build_images(BLUETTI_SOURCE_DIR, BLUETTI_BUILD_DIR, why);
    if (built == 77) {
        std::cerr << "skipped: " << why << "\n";
        podman().remove_all();
        return 77;
    }
    if (built != 0) {
        std::cerr << "container images: " << why << "\n";
        podman().remove_all();
        return 1;
    }
    doctest::Context context(argc, argv);
    const int result = context.run();
    podman().remove_all();
    return result;
}
