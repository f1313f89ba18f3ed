// What the daemon's system tests share beyond fixture.hpp: the user's broker with a subscriber
// acting as Home Assistant, a bluetti-bridge process with its config, and reading what HA would.
#pragma once

#include <functional>
#include <optional>

#include "fixture.hpp"

namespace bluetti::systest {

inline const std::string kSerial = "2345000000002";

struct Local {
    Mosquitto broker;
    MqttTestClient ha;  // "Home Assistant"
    explicit Local(const TempDir& dir) {
        std::string error;
        REQUIRE_MESSAGE(broker.start(dir.path(), error), error);
        connect();
    }
    void connect() {
        mqtt::Options o;
        o.port = broker.port();
        o.client_id = "home-assistant";
        std::string error;
        REQUIRE_MESSAGE(ha.connect(o, kTimeout, error), error);
        REQUIRE(ha.subscribe("homeassistant/#", kTimeout));
        REQUIRE(ha.subscribe("bluetti/#", kTimeout));
    }
};

struct Bridge {
    ChildProcess process;
    std::string config_file;
    // `device_extra`: more keys of the device entry, each line indented by four spaces;
    // `cloud_extra`: more keys of `cloud:`, indented by two; `poll`: the device's intervals;
    // `model`: its profile.
    void write_config(const Cloud& cloud, const Local& local, const TempDir& dir, const std::string& name,
                      const std::string& device_extra = "", const std::string& cloud_extra = "",
                      const std::string& poll = "{core: 2s, battery: 4s, settings: 4s, info: 10s}", const std::string& model = "EL100V2") {
        config_file = dir.file("config.yaml");
        write_text_file(dir.file("password"), kPassword + "\n");
        write_text_file(config_file, "cloud:\n  email: " + kEmail + "\n  password_file: " + dir.file("password") + "\n  api: " +
                                         cloud.api() + "\n  broker: " + cloud.broker.address() + "\n  ca_file: " + certificates().ca_cert +
                                         "\n  reconnect_delay: 1s\n  request_timeout: 2s\n  retry: {attempts: 2, initial_delay: 500ms}\n" +
                                         cloud_extra + "homeassistant:\n  broker: mqtt://127.0.0.1:" + std::to_string(local.broker.port()) +
                                         "\n  client_id: bridge-under-test\n  state_delay: 1s\n"
                                         "devices:\n  - serial: \"" +
                                         kSerial + "\"\n    model: " + model + "\n    name: " + name + "\n    poll: " + poll + "\n" +
                                         device_extra + "state_dir: " + dir.file("state") + "\n");
    }
    void start(const TempDir& dir) {
        ChildOptions o;
        o.stderr_file = dir.file("bridge.log");
        std::string error;
        REQUIRE_MESSAGE(process.start(BLUETTI_BRIDGE_BINARY, {"--config", config_file, "-v"}, o, error), error);
    }
};

inline std::optional<MqttMessage> wait_topic(MqttTestClient& c, const std::string& topic, const std::function<bool(const std::string&)>& ok,
                                             std::chrono::milliseconds timeout = kTimeout) {
    return c.wait_message([&](const MqttMessage& m) { return m.topic == topic && ok(m.text()); }, timeout);
}

// value_template as HA renders it, for our templates.
inline std::string render(const nlohmann::json& component, const nlohmann::json& state) {
    const std::string tpl = component["value_template"];
    const auto at = tpl.find("value_json.");
    REQUIRE(at != std::string::npos);
    const std::string key = tpl.substr(at + 11, tpl.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_", at + 11) - at - 11);
    if (!state.contains(key)) return "None";
    const auto& v = state[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace bluetti::systest
