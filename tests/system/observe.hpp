// What a system test saw "Home Assistant" receive: every state payload per state topic (with the
// time it came), availability, the last diagnostics and which keys are energy counters.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bridge_fixture.hpp"

namespace bluetti::systest {

inline const std::string kBase = "bluetti/" + kSerial + "/";

// What a client that subscribes now (Home Assistant after a restart) gets as the retained message of
// `topic` (empty: none).
inline std::string retained_now(const Local& local, const std::string& topic) {
    MqttTestClient reader;
    mqtt::Options o;
    o.port = local.broker.port();
    o.client_id = "retained-reader";
    std::string error;
    REQUIRE_MESSAGE(reader.connect(o, kTimeout, error), error);
    REQUIRE(reader.subscribe(topic, kTimeout));
    auto m = reader.wait_message(topic, std::chrono::seconds(2));
    return m && m->retained ? m->text() : std::string();
}

struct Observed {
    std::map<std::string, std::vector<nlohmann::json>> states;                          // state topic name -> every payload, in order
    std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> arrived;  // and when each came
    std::vector<std::string> availability;
    nlohmann::json diagnostics;         // the last one
    std::set<std::string> energy_keys;  // from the device config: device_class energy
    nlohmann::json device_config;       // the last device discovery config
};

// Collects what the bridge publishes until `enough` holds or `limit` passes.
inline Observed observe(Local& local, std::chrono::milliseconds limit, const std::function<bool(const Observed&)>& enough) {
    Observed seen;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline && !enough(seen)) {
        auto m = local.ha.wait_message([](const MqttMessage&) { return true; }, std::chrono::milliseconds(200));
        if (!m) continue;
        const std::string text = m->text();
        if (m->topic == "homeassistant/device/bluetti_" + kSerial + "/config") {
            const auto j = nlohmann::json::parse(text, nullptr, false);
            if (j.is_discarded() || !j.contains("components")) continue;
            seen.device_config = j;
            for (const auto& [key, comp] : j["components"].items())
                if (comp.value("device_class", "") == "energy") seen.energy_keys.insert(key);
        } else if (m->topic == kBase + "availability") {
            seen.availability.push_back(text);
        } else if (m->topic == kBase + "diagnostics") {
            seen.diagnostics = nlohmann::json::parse(text, nullptr, false);
        } else if (m->topic.rfind(kBase, 0) == 0) {
            const auto j = nlohmann::json::parse(text, nullptr, false);
            REQUIRE_MESSAGE(!j.is_discarded(), m->topic << ": not JSON: " << text);
            const std::string name = m->topic.substr(kBase.size());
            seen.states[name].push_back(j);
            seen.arrived[name].push_back(std::chrono::steady_clock::now());
        }
    }
    return seen;
}

inline std::int64_t diag(const Observed& seen, const char* key) {
    return seen.diagnostics.is_object() && seen.diagnostics[key].is_number() ? seen.diagnostics.value(key, std::int64_t{0}) : 0;
}

// Once online, never offline again (the bridge starts with `offline` until the device answered);
// and "online" seen at all.
inline bool always_online(const Observed& seen) {
    const auto online = std::find(seen.availability.begin(), seen.availability.end(), "online");
    return online != seen.availability.end() && std::find(online, seen.availability.end(), "offline") == seen.availability.end();
}

}  // namespace bluetti::systest
