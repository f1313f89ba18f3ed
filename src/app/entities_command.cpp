#include "entities_command.hpp"

#include <unistd.h>

#include <cctype>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "bluetti/event_loop.hpp"
#include "bluetti/mqtt/session.hpp"
#include "bluetti/natural_order.hpp"

namespace bluetti::app {

namespace {

using nlohmann::json;

struct Component {
    std::string device, name, platform, unique_id, state_topic, value_template, unit;
    std::vector<std::string> availability;
    std::string availability_mode = "latest";
};

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

// Where the local broker is: mqtt://host[:port] or mqtts://host[:port].
mqtt::Options broker_options(const EntitiesRequest& request) {
    const bool tls = request.broker.rfind("mqtts://", 0) == 0;
    std::string rest = request.broker.substr(request.broker.find("://") == std::string::npos ? 0 : request.broker.find("://") + 3);
    const auto colon = rest.rfind(':');
    mqtt::Options o;
    o.host = colon == std::string::npos ? rest : rest.substr(0, colon);
    o.port = colon == std::string::npos ? (tls ? 8883 : 1883) : std::atoi(rest.c_str() + colon + 1);
    o.tls = tls;
    o.username = request.username;
    o.password = request.password;
    o.client_id = "bluetti-cli-entities-" + std::to_string(::getpid());
    return o;
}

// What Home Assistant would know: the components of every discovery config seen, and the last
// payload of every topic they name.
class EntitiesView {
public:
    EntitiesView(mqtt::Session& session, std::string prefix) : session_(session), prefix_(std::move(prefix)) {}

    void on_message(const std::string& topic, const std::string& text) {
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

    void print_json(std::ostream& out) {
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

    void print_table(std::ostream& out) {
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

private:
    mqtt::Session& session_;
    std::string prefix_;
    // unique_id -> component, in natural order: "Pack 1 cell 2" before "Pack 1 cell 10".
    std::map<std::string, Component, NaturalLess> components_;
    std::map<std::string, std::string> payloads_;  // topic -> last payload
    std::set<std::string> subscribed_;

    void watch_topic(const std::string& topic) {
        if (!topic.empty() && subscribed_.insert(topic).second) session_.subscribe(topic, 1);
    }

    void add(const json& c, const json& device, const json& shared) {
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
    bool available(const Component& c) {
        bool online = true;
        for (const auto& t : c.availability) online = online && payloads_.count(t) && payloads_[t] == "online";
        return online;
    }
};

}  // namespace

int run_entities(const EntitiesRequest& request, std::ostream& out, std::ostream& err) {
    EventLoop loop;
    mqtt::Session session(loop, "local");
    EntitiesView view(session, request.prefix);
    std::string error;
    bool failed = false;

    mqtt::Session::Handlers h;
    h.on_connect = [&](int rc, const std::string& reason) {
        if (rc != 0) {
            error = reason;
            failed = true;
            return;
        }
        session.subscribe(request.prefix + "/device/+/config", 1);
        session.subscribe(request.prefix + "/+/+/+/config", 1);
    };
    h.on_message = [&](const std::string& topic, ByteSpan payload, bool) {
        view.on_message(topic, std::string(payload.begin(), payload.end()));
    };
    session.set_handlers(std::move(h));
    if (!session.connect(broker_options(request), error)) {
        err << "bluetti-cli entities: " << error << "\n";
        return 1;
    }
    do {
        loop.run_until([&] { return failed; }, std::chrono::milliseconds(static_cast<long long>(request.wait_s * 1000)));
        if (failed) {
            err << "bluetti-cli entities: " << error << "\n";
            return 1;
        }
        if (request.json) {
            view.print_json(out);
        } else {
            if (request.watch && ::isatty(STDOUT_FILENO)) out << "\033[H\033[2J";
            view.print_table(out);
        }
    } while (request.watch && !loop.stopped());
    session.disconnect();
    return 0;
}

}  // namespace bluetti::app
