// The daemon's configuration (docs/configuration.md): one YAML file, fully validated. Unknown
// keys, wrong types, bad durations, missing secrets and unreadable files are errors of the form
// `file:line:column: message`. Secrets come from the value itself, a `*_file`, the environment
// (BLUETTI_PASSWORD, BLUETTI_CERT_PASSWORD, BLUETTI_MQTT_PASSWORD, BLUETTI_HA_PASSWORD) or a systemd
// credential ($CREDENTIALS_DIRECTORY/<name>); they are never logged.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/ha/discovery.hpp"
#include "bluetti/result.hpp"

namespace bluetti::app {

using Duration = std::chrono::milliseconds;

struct RetryConfig {
    int attempts = 3;
    Duration initial_delay{1000};
    double factor = 2.0;
    Duration max_delay{10000};
};

struct CloudConfig {
    // Account mode.
    std::string email;
    std::string password;
    // Certificate mode (no REST calls): `certificate` is set.
    std::string certificate;  // PKCS#12 path
    std::string certificate_password;
    std::string mqtt_username;
    std::string mqtt_password;

    std::string api = "https://gw.bluettipower.com";
    std::string broker;  // "host:port"; empty = device record, x-iot-server, iot.bluettipower.com:18760
    std::string ca_file;
    bool tls_insecure = false;
    int tls_security_level = 0;  // OpenSSL @SECLEVEL for the Bluetti broker only (docs/protocol.md §1.10)
    Duration request_timeout{5000};
    RetryConfig retry;
    std::string request_topic = "SUB/{model}/{sub_sn}";
    std::string response_topic = "PUB/{model}/{sub_sn}";
    Duration reconnect_delay{45000};  // first reconnect delay (docs/protocol.md §1.10: 45 s measured)
    std::string client_id;            // empty = random per start

    bool certificate_mode() const { return !certificate.empty(); }
};

struct HomeAssistantConfig {
    std::string broker = "mqtt://localhost:1883";  // mqtt:// or mqtts://
    std::string username;
    std::string password;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    std::string client_id = "bluetti-bridge";
    std::string base_topic = "bluetti";
    std::string discovery_prefix = "homeassistant";
    ha::DiscoveryMode discovery = ha::DiscoveryMode::device;
    std::string status_topic = "homeassistant/status";  // HA's birth topic
    Duration state_delay{5000};                         // after a birth: configs at once, states after this

    // Parsed from `broker`.
    bool tls() const;
    std::string host() const;
    int port() const;
};

struct DeviceConfig {
    std::string serial;
    std::string model;
    std::string name;
    std::string sub_sn;
    std::optional<int> slave;
    std::map<std::string, Duration> poll;  // group name -> interval
    std::vector<std::string> exclude;
    bool controls = true;                                  // false: no control entities, nothing writable
    std::optional<std::vector<std::string>> control_keys;  // a list instead of the profile's controls
    std::string where;                                     // "file:line:column" of the entry, for later errors
};

struct LogConfig {
    std::string level = "info";
};

struct Config {
    std::string file;
    CloudConfig cloud;
    HomeAssistantConfig homeassistant;
    std::vector<DeviceConfig> devices;  // empty with e-mail login = every device on the account
    std::vector<std::string> schema_dirs;
    std::vector<std::string> profile_dirs;  // loaded after the built-in profiles (profile_dirs.hpp)
    LogConfig log;
    std::string state_dir;  // default: $STATE_DIRECTORY, else /var/lib/bluetti-bridge
    // Where state_dir came from, for its errors: "file:line:column" of the key, "$STATE_DIRECTORY",
    // or empty for the built-in default.
    std::string state_dir_where;
    // How often, at most, changed state (energy counters, the keys each station reported) is
    // written; also at SIGTERM and SIGHUP. Each write is an fsync: on an SD card, a wear cost.
    Duration state_save_interval{std::chrono::minutes(15)};
};

// What load_config may read besides the file: environment variables, for tests.
struct ConfigEnvironment {
    std::map<std::string, std::string> variables;  // empty map = the process environment
    std::optional<std::string> get(const std::string& name) const;
};

// Loads and validates; every error is "file:line:column: message" (one per line when several).
Result<Config, std::string> load_config(const std::string& path, const ConfigEnvironment& env = {});

// The same for text already in memory (`path` names it in errors); files the config refers to,
// such as password_file, are still read.
Result<Config, std::string> parse_config(std::string_view text, const std::string& path, const ConfigEnvironment& env = {});

// "10s", "500ms", "2m", "1h" (also used by the CLI).
std::optional<Duration> parse_config_duration(const std::string& text);

}  // namespace bluetti::app
