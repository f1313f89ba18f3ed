// load_config(): the docs/configuration.md example, defaults, every error kind with its position, the secret
// sources and their priority, certificate-mode rules, and the shipped example file.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config.hpp"

using namespace bluetti;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A fresh directory under $TMPDIR, removed with everything in it at the end of the test.
class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "bluetti-config-test-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string write(const std::string& name, const std::string& text) const {
        const fs::path p = path_ / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p.string();
    }
    std::string path(const std::string& name = "") const { return (path_ / name).string(); }

private:
    fs::path path_;
};

// Always a non-empty map, so the process environment is never consulted by accident.
app::ConfigEnvironment env(std::map<std::string, std::string> variables = {}) {
    variables.emplace("BLUETTI_TEST_HERMETIC", "1");
    return app::ConfigEnvironment{std::move(variables)};
}

Result<app::Config, std::string> load(const TempDir& dir, const std::string& yaml, const app::ConfigEnvironment& e) {
    return app::load_config(dir.write("config.yaml", yaml), e);
}

app::Config load_ok(const TempDir& dir, const std::string& yaml, const app::ConfigEnvironment& e) {
    auto c = load(dir, yaml, e);
    REQUIRE_MESSAGE(c.ok(), c.error());
    return *c;
}

std::string load_error(const TempDir& dir, const std::string& yaml, const app::ConfigEnvironment& e) {
    auto c = load(dir, yaml, e);
    REQUIRE_MESSAGE(!c.ok(), "expected an error for:\n" << yaml);
    return c.error();
}

std::size_t lines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

}  // namespace

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
    CHECK(c.file == dir.path("config.yaml"));
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
    CHECK(c.devices[0].where == dir.path("config.yaml") + ":7:5");
}

TEST_CASE("config: every key of docs/configuration.md, uncommented") {
    TempDir dir;
    const std::string ca = dir.write("ca.crt", "CA");
    dir.write("account.password", "pw-file\n");
    dir.write("ha.password", "ha-pw\n");
    dir.write("client.crt", "C");
    dir.write("client.key", "K");
    fs::create_directories(dir.path("schemas.d"));
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
    CHECK(h.cert_file == dir.path("client.crt"));
    CHECK(h.key_file == dir.path("client.key"));
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
    CHECK(c.schema_dirs == std::vector<std::string>{dir.path("schemas.d")});
    CHECK(c.log.level == "debug");
    CHECK(c.state_dir == "/tmp/state");
    CHECK(c.state_dir_where == dir.path("config.yaml") + ":39:12");
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

TEST_CASE("config: each error names file:line:column") {
    TempDir dir;
    dir.write("not-a-dir", "x");
    struct Row {
        const char* name;
        std::string yaml;
        std::string expected;  // substring after "<dir>/"
    };
    const std::string head = "cloud:\n  email: me@example.com\n";  // the password comes from the environment
    const std::vector<Row> rows = {
        {"unknown top-level key", head + "mqtt:\n  x: 1\n",
         "config.yaml:3:1: unknown key 'mqtt' (expected one of: cloud, homeassistant, devices, schema_dirs, log, state_dir, "
         "state_save_interval)"},
        {"unknown cloud key", head + "  passwd: x\n",
         "config.yaml:3:3: unknown key 'passwd' (expected one of: email, password, password_file, "},
        {"unknown key in a flow mapping", head + "  retry: { attempts: 3, tries: 4 }\n",
         "config.yaml:3:25: unknown key 'tries' (expected one of: attempts, initial_delay, factor, max_delay)"},
        {"unknown homeassistant key", "homeassistant:\n  host: x\n" + head,
         "config.yaml:2:3: unknown key 'host' (expected one of: broker, "},
        {"unknown device key", head + "devices:\n  - serial: A1\n    modell: EL100V2\n", "config.yaml:5:5: unknown key 'modell'"},
        {"unknown control", head + "devices:\n  - serial: A1\n    controls: [ac_output_switch, power_off]\n",
         "config.yaml:5:34: unknown control 'power_off' (writable: ac_output_switch, dc_output_switch, "},
        {"controls neither bool nor list", head + "devices:\n  - serial: A1\n    controls: some\n",
         "config.yaml:5:15: devices[0].controls must be true, false or a list of control keys, got 'some'"},
        {"duplicate key", head + "  email: other@example.com\n", "config.yaml:3:3: duplicate key 'email' (first given on line 2)"},
        {"section not a mapping", "cloud: yes\n", "config.yaml:1:8: cloud must be a mapping of keys"},
        {"document not a mapping", "- a\n- b\n", "config.yaml:1:1: the config must be a mapping of keys"},
        {"missing cloud section", "homeassistant: {}\n", "config.yaml:1:1: missing section 'cloud'"},
        {"text expected", "cloud:\n  email: [a, b]\n", "config.yaml:2:10: cloud.email must be a text value"},
        {"empty value points at the key", "cloud:\n  email:\n", "config.yaml:2:3: cloud.email must be a text value"},
        {"email without @", "cloud:\n  email: me\n", "config.yaml:2:10: cloud.email must be an e-mail address, got 'me'"},
        {"duration without unit", head + "  request_timeout: 10\n",
         "config.yaml:3:20: cloud.request_timeout must be a duration like 500ms, 10s, 2m or 1h, got '10'"},
        {"duration with a space", head + "  request_timeout: 10 s\n",
         "config.yaml:3:20: cloud.request_timeout must be a duration like 500ms, 10s, 2m or 1h, got '10 s'"},
        {"state_save_interval below a second", head + "state_save_interval: 500ms\n",
         "config.yaml:3:22: state_save_interval must be at least 1s and at most 24h, got '500ms'"},
        {"negative duration", head + "  request_timeout: -1s\n",
         "config.yaml:3:20: cloud.request_timeout must be a duration like 500ms, 10s, 2m or 1h, got '-1s'"},
        {"zero timeout", head + "  request_timeout: 0s\n", "config.yaml:3:20: cloud.request_timeout must be more than 0, got '0s'"},
        {"reconnect delay under 1s", head + "  reconnect_delay: 500ms\n",
         "config.yaml:3:20: cloud.reconnect_delay must be at least 1s and at most 10m, got '500ms'"},
        {"state delay over 10m", "homeassistant:\n  state_delay: 1h\n" + head,
         "config.yaml:2:16: homeassistant.state_delay must be at most 10m, got '1h'"},
        {"retry attempts 0", head + "  retry:\n    attempts: 0\n",
         "config.yaml:4:15: cloud.retry.attempts must be an integer from 1 to 20, got '0'"},
        {"retry attempts 21", head + "  retry: {attempts: 21}\n",
         "config.yaml:3:21: cloud.retry.attempts must be an integer from 1 to 20, got '21'"},
        {"retry attempts not a number", head + "  retry: {attempts: many}\n",
         "config.yaml:3:21: cloud.retry.attempts must be an integer from 1 to 20, got 'many'"},
        {"retry factor below 1", head + "  retry: {factor: 0.5}\n",
         "config.yaml:3:19: cloud.retry.factor must be a number from 1 to 100, got '0.5'"},
        {"retry max below initial", head + "  retry: {initial_delay: 5s, max_delay: 1s}\n",
         "config.yaml:3:41: cloud.retry.max_delay (1s) must not be less than initial_delay (5s)"},
        {"boolean", head + "  tls_insecure: maybe\n", "config.yaml:3:17: cloud.tls_insecure must be true or false, got 'maybe'"},
        {"tls security level", head + "  tls_security_level: 6\n",
         "config.yaml:3:23: cloud.tls_security_level must be an integer from 0 to 5, got '6'"},
        {"api URL", head + "  api: gw.bluettipower.com\n", "config.yaml:3:8: cloud.api must be an https:// (or http://) URL"},
        {"cloud broker without port", head + "  broker: iot.bluettipower.com\n", "config.yaml:3:11: cloud.broker must be host:port"},
        {"cloud client_id with /", head + "  client_id: a/b\n",
         "config.yaml:3:14: cloud.client_id must not contain +, #, / or spaces, got 'a/b'"},
        {"topic placeholder", head + "  topics:\n    request: \"SUB/{model}/{serial}\"\n",
         "config.yaml:4:14: cloud.topics.request: topic 'SUB/{model}/{serial}' uses unknown placeholder {serial}"},
        {"topic wildcard", head + "  topics: {response: \"PUB/#\"}\n",
         "config.yaml:3:22: cloud.topics.response: topic 'PUB/#' must not contain + or #"},
        {"ca_file missing", head + "  ca_file: nope.crt\n",
         "config.yaml:3:12: cloud.ca_file '" + dir.path("nope.crt") + "' cannot be read: No such file or directory"},
        {"log level", head + "log: {level: verbose}\n",
         "config.yaml:3:14: log.level must be one of: trace, debug, info, warn, error, critical, off, got 'verbose'"},
        {"discovery mode", head + "homeassistant:\n  discovery: all\n",
         "config.yaml:4:14: homeassistant.discovery must be one of: device, entity, none, got 'all'"},
        {"broker scheme", head + "homeassistant:\n  broker: tcp://localhost:1883\n",
         "config.yaml:4:11: homeassistant.broker must be mqtt://host[:port] or mqtts://host[:port], got 'tcp://localhost:1883'"},
        {"broker without host", head + "homeassistant: {broker: \"mqtt://\"}\n",
         "config.yaml:3:25: homeassistant.broker must be mqtt://host[:port]"},
        {"broker port 0", head + "homeassistant: {broker: \"mqtt://h:0\"}\n", "config.yaml:3:25: homeassistant.broker must be"},
        {"broker port too big", head + "homeassistant: {broker: \"mqtt://h:65536\"}\n", "config.yaml:3:25: homeassistant.broker must be"},
        {"broker with a path", head + "homeassistant: {broker: \"mqtt://h/x\"}\n", "config.yaml:3:25: homeassistant.broker must be"},
        {"broker with user info", head + "homeassistant: {broker: \"mqtt://u@h\"}\n", "config.yaml:3:25: homeassistant.broker must be"},
        {"ca_file without TLS", head + "homeassistant:\n  ca_file: config.yaml\n",
         "config.yaml:4:12: homeassistant.ca_file needs an mqtts:// broker"},
        {"cert_file without key_file", head + "homeassistant:\n  broker: mqtts://h\n  cert_file: config.yaml\n",
         "config.yaml:5:14: homeassistant.cert_file and homeassistant.key_file go together"},
        {"base_topic empty", head + "homeassistant:\n  base_topic: \"\"\n", "config.yaml:4:15: homeassistant.base_topic must not be empty"},
        {"base_topic wildcard", head + "homeassistant:\n  base_topic: a/+\n",
         "config.yaml:4:15: homeassistant.base_topic must not contain +, # or spaces, got 'a/+'"},
        {"discovery_prefix space", head + "homeassistant:\n  discovery_prefix: home assistant\n",
         "config.yaml:4:21: homeassistant.discovery_prefix must not contain +, # or spaces"},
        {"client_id slash", head + "homeassistant:\n  client_id: a/b\n",
         "config.yaml:4:14: homeassistant.client_id must not contain +, #, / or spaces"},
        {"HA password without user", head + "homeassistant:\n  password: x\n",
         "config.yaml:4:3: homeassistant.password needs homeassistant.username"},
        {"devices not a list", head + "devices:\n  serial: A1\n", "config.yaml:4:3: devices must be a list"},
        {"device not a mapping", head + "devices:\n  - A1\n", "config.yaml:4:5: devices[0] must be a mapping of keys"},
        {"serial missing", head + "devices:\n  - model: EL100V2\n", "config.yaml:4:5: devices[0] needs a serial"},
        {"serial empty", head + "devices:\n  - serial: \"\"\n", "config.yaml:4:13: devices[0].serial must not be empty"},
        {"serial with a slash", head + "devices:\n  - serial: A/1\n",
         "config.yaml:4:13: devices[0].serial must contain only letters, digits, - and _"},
        {"duplicate serial", head + "devices:\n  - serial: A1\n  - serial: a1\n",
         "config.yaml:5:5: serial 'A1' is listed twice (first on line 4)"},
        {"unknown model", head + "devices:\n  - serial: A1\n    model: EL999\n", "config.yaml:5:12: unknown model 'EL999' (known: "},
        {"slave out of range", head + "devices:\n  - serial: A1\n    slave: 248\n",
         "config.yaml:5:12: devices[0].slave must be an integer from 0 to 247, got '248'"},
        {"poll group unknown", head + "devices:\n  - serial: A1\n    poll: {fast: 1s}\n",
         "config.yaml:5:12: unknown key 'fast' (expected one of: core, detail, battery, settings, cells, info, topology)"},
        {"poll interval too short", head + "devices:\n  - serial: A1\n    poll: {core: 500ms}\n",
         "config.yaml:5:18: devices[0].poll.core must be at least 1s, got '500ms'"},
        {"poll interval zero", head + "devices:\n  - serial: A1\n    poll:\n      cells: 0s\n",
         "config.yaml:6:14: devices[0].poll.cells must be at least 1s, got '0s'"},
        {"exclude not a list", head + "devices:\n  - serial: A1\n    exclude: pv_power\n",
         "config.yaml:5:14: devices[0].exclude must be a list"},
        {"controls not a boolean", head + "devices:\n  - serial: A1\n    controls: 1\n",
         "config.yaml:5:15: devices[0].controls must be true, false or a list of control keys, got '1'"},
        {"sub_sn with a wildcard", head + "devices:\n  - serial: A1\n    sub_sn: \"#\"\n",
         "config.yaml:5:13: devices[0].sub_sn must be non-empty without +, #, / or spaces"},
        {"schema dir missing", head + "schema_dirs: [nope]\n",
         "config.yaml:3:15: schema_dirs entry '" + dir.path("nope") + "' cannot be read: No such file or directory"},
        {"schema dir is a file", head + "schema_dirs:\n  - not-a-dir\n",
         "config.yaml:4:5: schema_dirs entry '" + dir.path("not-a-dir") + "' is not a directory"},
        {"YAML syntax error", "cloud:\n  email: [me@example.com\n", "config.yaml:3:1: end of sequence flow not found"},
        {"empty file", "", "config.yaml:1:1: the config is empty"},
        {"neither login", "cloud:\n  api: https://x\n",
         "config.yaml:1:1: cloud needs email (e-mail login, with a password) or certificate"},
        {"both logins", head + "  certificate: config.yaml\n",
         "config.yaml:3:16: give either cloud.email (e-mail login) or cloud.certificate (certificate mode), not both"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        const std::string error = load_error(dir, row.yaml, env({{"BLUETTI_PASSWORD", "pw"}}));
        CHECK_MESSAGE(error.find(dir.path(row.expected)) != std::string::npos,
                      row.name << "\n  got:      " << error << "\n  expected: " << row.expected);
        if (std::string(row.name) == "YAML syntax error") CHECK(lines(error) == 1);
    }
}

TEST_CASE("config: an unreadable config file") {
    TempDir dir;
    const std::string missing = dir.path("missing.yaml");
    auto c = app::load_config(missing, env());
    REQUIRE_FALSE(c.ok());
    CHECK(c.error() == missing + ": cannot read: No such file or directory");
    auto d = app::load_config(dir.path(), env());
    REQUIRE_FALSE(d.ok());
    CHECK(d.error() == dir.path() + ": cannot read: Is a directory");
}

TEST_CASE("config: several errors are reported together, in file order") {
    TempDir dir;
    const std::string yaml = R"(devices:
  - serial: A1
    slave: 300
cloud:
  email: me@example.com
  request_timeout: 10
  colour: blue
log: {level: loud}
)";
    const std::string error = load_error(dir, yaml, env({{"BLUETTI_PASSWORD", "pw"}}));
    const std::string f = dir.path("config.yaml");
    CHECK(error == f + ":3:12: devices[0].slave must be an integer from 0 to 247, got '300'\n" + f +
                       ":6:20: cloud.request_timeout must be a duration like 500ms, 10s, 2m or 1h, got '10'\n" + f +
                       ":7:3: unknown key 'colour' (expected one of: email, password, password_file, certificate, certificate_password, "
                       "certificate_password_file, mqtt_username, mqtt_password, mqtt_password_file, api, broker, ca_file, tls_insecure, "
                       "tls_security_level, request_timeout, retry, topics, reconnect_delay, client_id)\n" +
                       f + ":8:14: log.level must be one of: trace, debug, info, warn, error, critical, off, got 'loud'");
}

TEST_CASE("config: secret sources and their priority") {
    TempDir dir;
    const std::string creds = dir.path("credentials");
    fs::create_directories(creds);
    dir.write("credentials/bluetti-password", "pw-cred\n");
    dir.write("pw.txt", "pw-file\n\n");
    const std::string head = "cloud:\n  email: me@example.com\n";
    const auto password = [&](const std::string& extra, std::map<std::string, std::string> vars) {
        return load_ok(dir, head + extra, env(std::move(vars))).cloud.password;
    };

    CHECK(password("  password: pw-value\n", {{"BLUETTI_PASSWORD", "pw-env"}, {"CREDENTIALS_DIRECTORY", creds}}) == "pw-value");
    // One trailing newline is stripped, not more.
    CHECK(password("  password_file: pw.txt\n", {{"BLUETTI_PASSWORD", "pw-env"}, {"CREDENTIALS_DIRECTORY", creds}}) == "pw-file\n");
    CHECK(password("", {{"BLUETTI_PASSWORD", "pw-env"}, {"CREDENTIALS_DIRECTORY", creds}}) == "pw-env");
    CHECK(password("", {{"CREDENTIALS_DIRECTORY", creds}}) == "pw-cred");
    // A password_file that cannot be read falls through to the environment and the credential.
    CHECK(password("  password_file: missing.txt\n", {{"BLUETTI_PASSWORD", "pw-env"}}) == "pw-env");
    CHECK(password("  password_file: missing.txt\n", {{"CREDENTIALS_DIRECTORY", creds}}) == "pw-cred");
    // Absolute paths are taken as they are.
    CHECK(password("  password_file: " + dir.path("pw.txt") + "\n", {}) == "pw-file\n");

    const std::string f = dir.path("config.yaml");
    SUBCASE("missing everywhere: the error says where it can be given") {
        CHECK(load_error(dir, head, env({{"CREDENTIALS_DIRECTORY", dir.path("nothing")}})) ==
              f + ":2:10: cloud.password is missing (e-mail login): give cloud.password or cloud.password_file, set $BLUETTI_PASSWORD, "
                  "or provide the systemd credential 'bluetti-password'");
    }
    SUBCASE("a missing password_file with no other source: error at the key with the OS reason") {
        CHECK(load_error(dir, head + "  password_file: missing.txt\n", env()) ==
              f + ":3:18: cloud.password_file '" + dir.path("missing.txt") + "' cannot be read: No such file or directory");
    }
    SUBCASE("an unreadable password_file falls through too, and is named when nothing else gives the password") {
        // As under the packaged unit: a DynamicUser cannot read the file and gets the credential instead.
        fs::create_directories(dir.path("adir"));
        CHECK(password("  password_file: adir\n", {{"CREDENTIALS_DIRECTORY", creds}}) == "pw-cred");
        CHECK(load_error(dir, head + "  password_file: adir\n", env()) ==
              f + ":3:18: cloud.password_file '" + dir.path("adir") + "' cannot be read: Is a directory");
    }
    SUBCASE("a credential that exists but cannot be read") {
        fs::create_directories(dir.path("bad-credentials/bluetti-password"));
        CHECK(load_error(dir, head, env({{"CREDENTIALS_DIRECTORY", dir.path("bad-credentials")}})) ==
              f + ":1:1: systemd credential '" + dir.path("bad-credentials/bluetti-password") + "' cannot be read: Is a directory");
    }
    SUBCASE("both the value and the file") {
        const std::string error = load_error(dir, head + "  password: hunter2\n  password_file: pw.txt\n", env());
        CHECK(error == f + ":4:18: give cloud.password or cloud.password_file, not both");
        CHECK(error.find("hunter2") == std::string::npos);
    }
    SUBCASE("an empty value or file") {
        dir.write("empty.txt", "\n");
        CHECK(load_error(dir, head + "  password: \"\"\n", env({{"BLUETTI_PASSWORD", "pw-env"}})) == f + ":3:13: cloud.password is empty");
        CHECK(load_error(dir, head + "  password_file: empty.txt\n", env({{"BLUETTI_PASSWORD", "pw-env"}})) ==
              f + ":3:18: cloud.password_file '" + dir.path("empty.txt") + "' is empty");
    }
    SUBCASE("Home Assistant password: value, file, environment, credential") {
        dir.write("credentials/ha-password", "ha-cred");
        const auto ha = [&](const std::string& extra, std::map<std::string, std::string> vars) {
            vars.emplace("BLUETTI_PASSWORD", "pw");
            return load_ok(dir, head + "homeassistant:\n  username: u\n" + extra, env(std::move(vars))).homeassistant.password;
        };
        CHECK(ha("  password: ha-value\n", {{"BLUETTI_HA_PASSWORD", "ha-env"}}) == "ha-value");
        CHECK(ha("  password_file: pw.txt\n", {{"BLUETTI_HA_PASSWORD", "ha-env"}}) == "pw-file\n");
        CHECK(ha("", {{"BLUETTI_HA_PASSWORD", "ha-env"}, {"CREDENTIALS_DIRECTORY", creds}}) == "ha-env");
        CHECK(ha("", {{"CREDENTIALS_DIRECTORY", creds}}) == "ha-cred");
        CHECK(ha("", {}).empty());  // a user name alone is allowed
        // Without a user name the environment's HA password is not used.
        CHECK(load_ok(dir, head, env({{"BLUETTI_PASSWORD", "pw"}, {"BLUETTI_HA_PASSWORD", "ha-env"}})).homeassistant.password.empty());
    }
}

TEST_CASE("config: the process environment is used only without a map") {
    TempDir dir;
    const std::string yaml = "cloud:\n  email: me@example.com\n";
    REQUIRE(::setenv("BLUETTI_PASSWORD", "pw-process", 1) == 0);
    const auto with_map = load(dir, yaml, env({{"OTHER", "x"}}));
    const auto without_map = load(dir, yaml, app::ConfigEnvironment{});
    ::unsetenv("BLUETTI_PASSWORD");
    CHECK_FALSE(with_map.ok());
    REQUIRE_MESSAGE(without_map.ok(), without_map.error());
    CHECK(without_map->cloud.password == "pw-process");
    CHECK(app::ConfigEnvironment{{{"A", "1"}}}.get("A") == "1");
    CHECK_FALSE(app::ConfigEnvironment{{{"A", "1"}}}.get("PATH").has_value());
}

TEST_CASE("config: certificate mode") {
    TempDir dir;
    dir.write("cert.pfx", "PKCS12");
    dir.write("credentials/bluetti-mqtt-password", "mqtt-cred\n");
    const std::string creds = dir.path("credentials");
    const std::string cloud = "cloud:\n  certificate: cert.pfx\n  certificate_password: cert-pw\n  mqtt_username: \"tid:42\"\n";
    const std::string devices = "devices:\n  - serial: A1\n    model: EL100V2\n    sub_sn: S1\n    slave: 1\n";
    const std::string f = dir.path("config.yaml");

    const auto c = load_ok(dir, cloud + "  mqtt_password: mqtt-pw\n" + devices, env());
    CHECK(c.cloud.certificate_mode());
    CHECK(c.cloud.certificate == dir.path("cert.pfx"));
    CHECK(c.cloud.certificate_password == "cert-pw");
    CHECK(c.cloud.mqtt_username == "tid:42");
    CHECK(c.cloud.mqtt_password == "mqtt-pw");
    CHECK(c.cloud.email.empty());
    REQUIRE(c.devices.size() == 1);
    CHECK(c.devices[0].sub_sn == "S1");
    CHECK(c.devices[0].slave == 1);

    SUBCASE("secrets from the environment and a credential; BLUETTI_PASSWORD is ignored") {
        const std::string yaml = "cloud:\n  certificate: cert.pfx\n  mqtt_username: u\n" + devices;
        const auto e =
            load_ok(dir, yaml, env({{"BLUETTI_CERT_PASSWORD", "cert-env"}, {"CREDENTIALS_DIRECTORY", creds}, {"BLUETTI_PASSWORD", "x"}}));
        CHECK(e.cloud.certificate_password == "cert-env");
        CHECK(e.cloud.mqtt_password == "mqtt-cred");
        CHECK(e.cloud.password.empty());
        const auto m =
            load_ok(dir, yaml,
                    env({{"BLUETTI_CERT_PASSWORD", "cert-env"}, {"BLUETTI_MQTT_PASSWORD", "mqtt-env"}, {"CREDENTIALS_DIRECTORY", creds}}));
        CHECK(m.cloud.mqtt_password == "mqtt-env");
    }
    SUBCASE("a devices: list is required") {
        CHECK(load_error(dir, cloud + "  mqtt_password: x\n", env()) ==
              f + ":1:1: certificate mode needs a devices: list with serial, model and sub_sn for each device");
    }
    SUBCASE("every device needs model and sub_sn") {
        const std::string error =
            load_error(dir, cloud + "  mqtt_password: x\ndevices:\n  - serial: A1\n    model: EL100V2\n  - serial: A2\n", env());
        CHECK(error == f + ":7:5: certificate mode needs model and sub_sn for every device (devices[0] lacks sub_sn)\n" + f +
                           ":9:5: certificate mode needs model and sub_sn for every device (devices[1] lacks both)");
    }
    SUBCASE("missing secrets and user name name their sources") {
        const std::string error = load_error(dir, "cloud:\n  certificate: cert.pfx\n" + devices, env());
        CHECK(error.find(f + ":2:16: cloud.certificate_password is missing (certificate mode): give cloud.certificate_password or "
                             "cloud.certificate_password_file, set $BLUETTI_CERT_PASSWORD, or provide the systemd credential "
                             "'bluetti-cert-password'") != std::string::npos);
        CHECK(error.find(f + ":2:16: cloud.mqtt_username is missing (certificate mode)") != std::string::npos);
        CHECK(error.find("cloud.mqtt_password is missing (certificate mode): give cloud.mqtt_password or cloud.mqtt_password_file, set "
                         "$BLUETTI_MQTT_PASSWORD, or provide the systemd credential 'bluetti-mqtt-password'") != std::string::npos);
        CHECK(lines(error) == 3);
    }
    SUBCASE("an unreadable certificate") {
        CHECK(load_error(dir,
                         "cloud:\n  certificate: none.pfx\n  certificate_password: p\n  mqtt_username: u\n  mqtt_password: p\n" + devices,
                         env()) == f + ":2:16: cloud.certificate '" + dir.path("none.pfx") + "' cannot be read: No such file or directory");
    }
    SUBCASE("keys of the other mode are errors") {
        const std::string error = load_error(dir, cloud + "  mqtt_password: x\n  password: secret-pw\n" + devices, env());
        CHECK(error == f + ":6:3: cloud.password is only used with e-mail login (with cloud.email)");
        CHECK(error.find("secret-pw") == std::string::npos);
        CHECK(load_error(dir, "cloud:\n  email: me@example.com\n  password: p\n  mqtt_username: u\n  mqtt_password_file: x\n", env()) ==
              f + ":4:3: cloud.mqtt_username is only used in certificate mode (with cloud.certificate)\n" + f +
                  ":5:3: cloud.mqtt_password_file is only used in certificate mode (with cloud.certificate)");
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
