// What Home Assistant would know from a local broker, for `bluetti-cli entities`: the components
// of every discovery config seen, and the last payload of every topic they name, rendered the way
// HA renders them (value_template, availability). No MQTT here: the command feeds it messages and
// subscribes to the topics it asks for.
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <vector>

#include "bluetti/natural_order.hpp"

namespace bluetti::app {

class EntitiesView {
public:
    using Subscribe = std::function<void(const std::string& topic)>;

    // `subscribe` is asked once for every state and availability topic a discovery config names.
    EntitiesView(std::string prefix, Subscribe subscribe) : prefix_(std::move(prefix)), subscribe_(std::move(subscribe)) {}

    // A discovery config under the prefix (one component or a device's "components"), or any other
    // topic's payload.
    void on_message(const std::string& topic, const std::string& text);
    // One JSON array of {device, name, platform, unique_id, value, unit, available}.
    void print_json(std::ostream& out);
    // One line per entity (device, name, value and unit), then "<n> entities".
    void print_table(std::ostream& out);

private:
    struct Component {
        std::string device, name, platform, unique_id, state_topic, value_template, unit;
        std::vector<std::string> availability;
        std::string availability_mode = "latest";
    };

    std::string prefix_;
    Subscribe subscribe_;
    // unique_id -> component, in natural order: "Pack 1 cell 2" before "Pack 1 cell 10".
    std::map<std::string, Component, NaturalLess> components_;
    std::map<std::string, std::string> payloads_;  // topic -> last payload
    std::set<std::string> subscribed_;

    void watch_topic(const std::string& topic);
    void add(const nlohmann::json& c, const nlohmann::json& device, const nlohmann::json& shared);
    bool available(const Component& c);
};

}  // namespace bluetti::app
