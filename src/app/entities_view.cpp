#include "entities_view.hpp"

#include <cctype>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>

namespace bluetti::app {

namespace {

using nlohmann::json;

// The subset of HA's template language our configs use: value_json.<key> with an optional
// `| default(None)`; "None" means unknown.
std::string render(const std::string& tpl, const std::string& payload) {
    const auto at = tpl.find("value_json.");
    if (at == std::string::npos) return payload;
    std::string key;
    for (std::size_t i = at + 11; i < tpl.size() && (std::isalnum(static_cast<unsigned char>(tpl[i])) || tpl[i] == '_'); ++i) key += tpl[i];
    const auto j = json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains(key) || j[key].is_null()) return "None";
    const auto& v = j[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

void EntitiesView::on_message(const std::string& topic, const std::string& text) {
    if (topic.size() > 7 && topic.compare(topic.size() - 7, 7, "/config") == 0 && topic.rfind(prefix_ + "/", 0) == 0) {
        const auto j = json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return;
        const json device = j.value("device", json::object());
        if (j.contains("components")) {
            for (const auto& [id, c] : j["components"].items()) add(c, device, j);
        } else {
            add(j, device, j);
        }
        return;
    }
    payloads_[topic] = text;
}

void EntitiesView::print_json(std::ostream& out) {
    json list = json::array();
    for (const auto& [id, c] : components_) {
        const std::string value = payloads_.count(c.state_topic) ? render(c.value_template, payloads_[c.state_topic]) : "None";
        list.push_back(json{{"device", c.device},
                            {"name", c.name},
                            {"platform", c.platform},
                            {"unique_id", id},
                            {"value", value},
                            {"unit", c.unit},
                            {"available", available(c)}});
    }
    out << list.dump() << "\n";
}

void EntitiesView::print_table(std::ostream& out) {
    for (const auto& [id, c] : components_) {
        std::string value = !available(c)                    ? "unavailable"
                            : payloads_.count(c.state_topic) ? render(c.value_template, payloads_[c.state_topic])
                                                             : "unknown";
        if (value == "None") value = "unknown";
        out << std::left << std::setw(24) << c.device.substr(0, 23) << std::setw(34) << c.name.substr(0, 33) << value
            << (c.unit.empty() || value == "unknown" || value == "unavailable" ? "" : " " + c.unit) << "\n";
    }
    out << components_.size() << " entities\n";
    out.flush();
}

void EntitiesView::watch_topic(const std::string& topic) {
    if (!topic.empty() && subscribed_.insert(topic).second) subscribe_(topic);
}

void EntitiesView::add(const json& c, const json& device, const json& shared) {
    Component x;
    x.device = device.value("name", "?");
    x.name = c.value("name", "");
    x.platform = c.value("platform", c.value("p", ""));
    x.unique_id = c.value("unique_id", "");
    x.state_topic = c.value("state_topic", shared.value("state_topic", ""));
    x.value_template = c.value("value_template", "");
    x.unit = c.value("unit_of_measurement", "");
    const json& avty = c.contains("availability") ? c["availability"] : shared.value("availability", json::array());
    for (const auto& a : avty) x.availability.push_back(a.value("topic", ""));
    x.availability_mode = c.value("availability_mode", shared.value("availability_mode", "latest"));
    watch_topic(x.state_topic);
    for (const auto& t : x.availability) watch_topic(t);
    if (!x.unique_id.empty()) components_[x.unique_id] = x;
}

// As Home Assistant's availability_mode all: every availability topic says online.
bool EntitiesView::available(const Component& c) {
    bool online = true;
    for (const auto& t : c.availability) online = online && payloads_.count(t) && payloads_[t] == "online";
    return online;
}

}  // namespace bluetti::app
