// load_config() errors: each names file:line:column, an unreadable file, several errors at once in
// file order.
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
         "config.yaml:3:1: unknown key 'mqtt' (expected one of: cloud, homeassistant, devices, schema_dirs, profile_dirs, log, state_dir, "
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
         "config.yaml:3:12: cloud.ca_file '" + dir.file("nope.crt") + "' cannot be read: No such file or directory"},
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
         "config.yaml:3:15: schema_dirs entry '" + dir.file("nope") + "' cannot be read: No such file or directory"},
        {"schema dir is a file", head + "schema_dirs:\n  - not-a-dir\n",
         "config.yaml:4:5: schema_dirs entry '" + dir.file("not-a-dir") + "' is not a directory"},
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
        CHECK_MESSAGE(error.find(dir.file(row.expected)) != std::string::npos,
                      row.name << "\n  got:      " << error << "\n  expected: " << row.expected);
        if (std::string(row.name) == "YAML syntax error") CHECK(lines(error) == 1);
    }
}

TEST_CASE("config: an unreadable config file") {
    TempDir dir;
    const std::string missing = dir.file("missing.yaml");
    auto c = app::load_config(missing, env());
    REQUIRE_FALSE(c.ok());
    CHECK(c.error() == missing + ": cannot read: No such file or directory");
    auto d = app::load_config(dir.file(""), env());
    REQUIRE_FALSE(d.ok());
    CHECK(d.error() == dir.file("") + ": cannot read: Is a directory");
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
    const std::string f = dir.file("config.yaml");
    CHECK(error == f + ":3:12: devices[0].slave must be an integer from 0 to 247, got '300'\n" + f +
                       ":6:20: cloud.request_timeout must be a duration like 500ms, 10s, 2m or 1h, got '10'\n" + f +
                       ":7:3: unknown key 'colour' (expected one of: email, password, password_file, certificate, certificate_password, "
                       "certificate_password_file, mqtt_username, mqtt_password, mqtt_password_file, api, broker, ca_file, tls_insecure, "
                       "tls_security_level, request_timeout, retry, topics, reconnect_delay, client_id)\n" +
                       f + ":8:14: log.level must be one of: trace, debug, info, warn, error, critical, off, got 'loud'");
}
