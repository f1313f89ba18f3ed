// load_config(): the docs/configuration.md example, every key, defaults, controls, broker URLs and durations,
// and the shipped example file. Errors: config_errors_test.cpp; secrets and certificate mode:
// config_credentials_test.cpp.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/config_support.hpp"

using namespace bluetti;
using namespace bluetti::config_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST_CASE("config: the docs/configuration.md example loads with its values") {
    TempDir dir;
    // From docs/configuration.md, with a password file that does not exist here, so the password comes from
    // $BLUETTI_PASSWORD (an unreadable *_file falls through to the environment).
    const std::string yaml = R"(cloud:
  email: me@example.com
  password_file: /nonexistent-bluetti-test/account.password   # or `password:`, $BLUETTI_PASSWORD, or a systemd credential
homeassistant:
  broker: mqtt://localhost:1883          # mqtts:// for TLS
devices:                                 # optional with e-mail login: default is every device on the account
  - serial: "2345EB200XXXXXXX"
    model: EL100V2
    name: Garage Elite 100
)";
    const auto c = load_ok(dir, yaml, env({{"BLUETTI_PASSWORD", "pw-env"}}));
    CHECK(c.file == dir.file("config.yaml"));
    CHECK(c.cloud.email == "me@example.com");
    CHECK(c.cloud.password == "pw-env");
    CHECK_FALSE(c.cloud.certificate_mode());
    CHECK(c.homeassistant.broker == "mqtt://localhost:1883");
    CHECK_FALSE(c.homeassistant.tls());
    CHECK(c.homeassistant.host() == "localhost");
    CHECK(c.homeassistant.port() == 1883);
    REQUIRE(c.devices.size() == 1);
    CHECK(c.devices[0].serial == "2345EB200XXXXXXX");
    CHECK(c.devices[0].model == "EL100V2");
    CHECK(c.devices[0].name == "Garage Elite 100");
    CHECK(c.devices[0].controls);
    CHECK_FALSE(c.devices[0].slave.has_value());
    CHECK(c.devices[0].where == dir.file("config.yaml") + ":7:5");
}

TEST_CASE("config: every key of docs/configuration.md, uncommented") {
    TempDir dir;
    const std::string ca = dir.write("ca.crt", "CA");
    dir.write("account.password", "pw-file\n");
    dir.write("ha.password", "ha-pw\n");
    dir.write("client.crt", "C");
    dir.write("client.key", "K");
    fs::create_directories(dir.file("schemas.d"));
    const std::string yaml = R"(cloud:
  email: me@example.com
  password_file: account.password
  api: http://127.0.0.1:8080
  broker: 127.0.0.1:18760
  ca_file: ca.crt
  tls_insecure: true
  tls_security_level: 2
  request_timeout: 500ms
  reconnect_delay: 2m
  client_id: bridge-1
  retry: { attempts: 5, initial_delay: 250ms, factor: 1.5, max_delay: 1h }
  topics: { request: "SUB/{model}/{sn}", response: "PUB/{model}/{sub_sn}" }
homeassistant:
  broker: mqtts://broker.lan
  username: bridge
  password_file: ha.password
  ca_file: ca.crt
  cert_file: client.crt
  key_file: client.key
  client_id: bluetti-garage
  base_topic: home/bluetti
  discovery_prefix: ha
  discovery: entity
  status_topic: ha/status
  state_delay: 0s
devices:
  - serial: " 2345eb200xxxxxxx "
    model: Elite 100 V2
    name: Garage
    sub_sn: SUB1
    slave: 247
    poll: { core: 10s, detail: 30s, battery: 30s, settings: 60s, cells: 2m, info: 1h, topology: 10m }
    exclude: [pv_power, ac_output_power]
    controls: false
  - serial: AP300X
schema_dirs: [schemas.d]
log: { level: debug }
state_dir: /tmp/state
state_save_interval: 1h
)";
    const auto c = load_ok(dir, yaml, env());
    CHECK(c.cloud.password == "pw-file");
    CHECK(c.cloud.api == "http://127.0.0.1:8080");
    CHECK(c.cloud.broker == "127.0.0.1:18760");
    CHECK(c.cloud.ca_file == ca);
    CHECK(c.cloud.tls_insecure);
    CHECK(c.cloud.tls_security_level == 2);
    CHECK(c.cloud.request_timeout == 500ms);
    CHECK(c.cloud.reconnect_delay == 2min);
    CHECK(c.cloud.client_id == "bridge-1");
    CHECK(c.cloud.retry.attempts == 5);
    CHECK(c.cloud.retry.initial_delay == 250ms);
    CHECK(c.cloud.retry.factor == doctest::Approx(1.5));
    CHECK(c.cloud.retry.max_delay == 1h);
    CHECK(c.cloud.request_topic == "SUB/{model}/{sn}");
    CHECK(c.cloud.response_topic == "PUB/{model}/{sub_sn}");
    const auto& h = c.homeassistant;
    CHECK(h.tls());
    CHECK(h.host() == "broker.lan");
    CHECK(h.port() == 8883);
    CHECK(h.username == "bridge");
    CHECK(h.password == "ha-pw");
    CHECK(h.ca_file == ca);
    CHECK(h.cert_file == dir.file("client.crt"));
    CHECK(h.key_file == dir.file("client.key"));
    CHECK(h.client_id == "bluetti-garage");
    CHECK(h.base_topic == "home/bluetti");
    CHECK(h.discovery_prefix == "ha");
    CHECK(h.discovery == ha::DiscoveryMode::entity);
    CHECK(h.status_topic == "ha/status");
    CHECK(h.state_delay == 0ms);
    REQUIRE(c.devices.size() == 2);
    const auto& d = c.devices[0];
    CHECK(d.serial == "2345EB200XXXXXXX");  // trimmed, upper case (docs/home-assistant.md §2.3)
    CHECK(d.model == "EL100V2");            // the alias selects the profile; its name is kept
    CHECK(d.name == "Garage");
    CHECK(d.sub_sn == "SUB1");
    CHECK(d.slave == 247);
    CHECK(d.poll.size() == 7);
    CHECK(d.poll.at("core") == 10s);
    CHECK(d.poll.at("cells") == 2min);
    CHECK(d.poll.at("topology") == 10min);
    CHECK(d.exclude == std::vector<std::string>{"pv_power", "ac_output_power"});
    CHECK_FALSE(d.controls);
    CHECK(c.devices[1].serial == "AP300X");
    CHECK(c.devices[1].model.empty());
    CHECK(c.schema_dirs == std::vector<std::string>{dir.file("schemas.d")});
    CHECK(c.log.level == "debug");
    CHECK(c.state_dir == "/tmp/state");
    CHECK(c.state_dir_where == dir.file("config.yaml") + ":39:12");
    CHECK(c.state_save_interval == 1h);
}

TEST_CASE("config: defaults") {
    TempDir dir;
    const auto c = load_ok(dir, "cloud:\n  email: me@example.com\n  password: pw\n", env());
    CHECK(c.cloud.password == "pw");
    CHECK(c.cloud.api == "https://gw.bluettipower.com");
    CHECK(c.cloud.broker.empty());
    CHECK(c.cloud.ca_file.empty());
    CHECK_FALSE(c.cloud.tls_insecure);
    CHECK(c.cloud.tls_security_level == 0);
    CHECK(c.cloud.request_timeout == 5s);
    CHECK(c.cloud.retry.attempts == 3);
    CHECK(c.cloud.retry.initial_delay == 1s);
    CHECK(c.cloud.retry.factor == doctest::Approx(2.0));
    CHECK(c.cloud.retry.max_delay == 10s);
    CHECK(c.cloud.request_topic == "SUB/{model}/{sub_sn}");
    CHECK(c.cloud.response_topic == "PUB/{model}/{sub_sn}");
    CHECK(c.cloud.reconnect_delay == 45s);
    CHECK(c.cloud.client_id.empty());
    const auto& h = c.homeassistant;
    CHECK(h.broker == "mqtt://localhost:1883");
    CHECK(h.username.empty());
    CHECK(h.password.empty());
    CHECK(h.client_id == "bluetti-bridge");
    CHECK(h.base_topic == "bluetti");
    CHECK(h.discovery_prefix == "homeassistant");
    CHECK(h.discovery == ha::DiscoveryMode::device);
    CHECK(h.status_topic == "homeassistant/status");
    CHECK(h.state_delay == 5s);
    CHECK(c.devices.empty());
    CHECK(c.schema_dirs.empty());
    CHECK(c.log.level == "info");
    CHECK(c.state_dir == "/var/lib/bluetti-bridge");
    CHECK(c.state_dir_where.empty());
    CHECK(c.state_save_interval == 15min);

    SUBCASE("state_dir from $STATE_DIRECTORY (the first of several)") {
        const auto s = load_ok(dir, "cloud: {email: a@b.c, password: pw}\n", env({{"STATE_DIRECTORY", "/var/lib/x:/var/lib/y"}}));
        CHECK(s.state_dir == "/var/lib/x");
        CHECK(s.state_dir_where == "$STATE_DIRECTORY");
    }
    SUBCASE("empty sections keep their defaults") {
        const auto s = load_ok(dir, "cloud: {email: a@b.c, password: pw}\nhomeassistant:\nlog:\ndevices:\n", env());
        CHECK(s.homeassistant.base_topic == "bluetti");
        CHECK(s.log.level == "info");
        CHECK(s.devices.empty());
    }
}

TEST_CASE("config: profile_dirs, whose profiles a device's model may name") {
    TempDir dir;
    const std::string f = dir.file("config.yaml");
    const std::string head = "cloud:\n  email: me@example.com\n  password: pw\n";
    const std::string profiles = std::string(BLUETTI_TEST_DATA) + "/profiles.d";
    const auto c = load_ok(dir, head + "profile_dirs: [" + profiles + "]\ndevices:\n  - serial: A1\n    model: test station v2\n", env());
    CHECK(c.profile_dirs == std::vector<std::string>{profiles});
    REQUIRE(c.devices.size() == 1);
    CHECK(c.devices[0].model == "TESTV2");  // stored as the profile's model, as for a built-in one
    CHECK(load_error(dir, head + "devices:\n  - serial: A1\n    model: TESTV2\n", env()).find(f + ":6:12: unknown model 'TESTV2'") == 0);

    fs::create_directories(dir.file("profiles.d"));  // relative to the config file's directory
    CHECK(load_ok(dir, head + "profile_dirs: [profiles.d]\n", env()).profile_dirs == std::vector<std::string>{dir.file("profiles.d")});
    CHECK(load_error(dir, head + "profile_dirs: [nope]\n", env()) ==
          f + ":4:16: profile_dirs entry '" + dir.file("nope") + "' cannot be read: No such file or directory");
    // A broken profile file: the directory's entry in the config, then the file's own position.
    dir.write("bad.d/mine.yaml", "model: MINE\ncolour: red\n");
    CHECK(load_error(dir, head + "profile_dirs:\n  - bad.d\n", env())
              .find(f + ":5:5: profile_dirs entry '" + dir.file("bad.d") + "': " + dir.file("bad.d/mine.yaml") +
                    ":2:1: unknown key 'colour'") == 0);
}

TEST_CASE("config: controls true, false, or a list of keys") {
    TempDir dir;
    const auto c =
        load_ok(dir,
                "cloud:\n  email: me@example.com\n  password: pw\ndevices:\n  - serial: A1\n  - serial: A2\n    controls: false\n"
                "  - serial: A3\n    controls: [soc_discharge_limit, ac_output_switch]\n",
                env());
    REQUIRE(c.devices.size() == 3);
    CHECK(c.devices[0].controls);
    CHECK_FALSE(c.devices[0].control_keys.has_value());
    CHECK_FALSE(c.devices[1].controls);
    CHECK(c.devices[2].controls);
    CHECK(c.devices[2].control_keys == std::vector<std::string>{"soc_discharge_limit", "ac_output_switch"});
}

TEST_CASE("config: broker URLs and durations") {
    struct Row {
        std::string broker;
        bool tls;
        std::string host;
        int port;
    };
    for (const Row& r : {Row{"mqtt://localhost", false, "localhost", 1883}, Row{"mqtts://localhost", true, "localhost", 8883},
                         Row{"mqtt://10.0.0.2:1884", false, "10.0.0.2", 1884}, Row{"mqtts://[::1]:8884", true, "::1", 8884},
                         Row{"mqtt://[fe80::1]", false, "fe80::1", 1883}}) {
        CAPTURE(r.broker);
        app::HomeAssistantConfig h;
        h.broker = r.broker;
        CHECK(h.tls() == r.tls);
        CHECK(h.host() == r.host);
        CHECK(h.port() == r.port);
    }
    CHECK(app::parse_config_duration("500ms") == 500ms);
    CHECK(app::parse_config_duration("10s") == 10s);
    CHECK(app::parse_config_duration("2m") == 2min);
    CHECK(app::parse_config_duration("1h") == 1h);
    CHECK(app::parse_config_duration("0s") == 0ms);
    for (const char* bad : {"", "10", "10 s", " 10s", "-1s", "+1s", "1.5s", "10sec", "s", "1d", "10S"}) {
        CAPTURE(bad);
        CHECK_FALSE(app::parse_config_duration(bad).has_value());
    }
}

TEST_CASE("config: the shipped example file loads") {
    const std::string example = std::string(BLUETTI_TEST_DATA) + "/../../config/bluetti-bridge.example.yaml";
    REQUIRE(fs::exists(example));
    const auto c = app::load_config(example, env({{"BLUETTI_PASSWORD", "pw"}}));
    REQUIRE_MESSAGE(c.ok(), c.error());
    CHECK_FALSE(c->cloud.email.empty());
    CHECK(c->homeassistant.host() == "localhost");
    CHECK(c->devices.empty());
    // Without any password source it names the file it tried.
    const auto bare = app::load_config(example, env());
    if (!fs::exists("/etc/bluetti-bridge/account.password")) {
        REQUIRE_FALSE(bare.ok());
        CHECK(bare.error().find("cloud.password_file '/etc/bluetti-bridge/account.password' cannot be read") != std::string::npos);
    }
}
