#include "bluetti/ha/local_session.hpp"

#include <nlohmann/json.hpp>

#include "bluetti/backoff.hpp"
#include "bluetti/fnv1a.hpp"
#include "bluetti/log.hpp"
#include "bluetti/text.hpp"

namespace bluetti::ha {

std::optional<CommandTopic> parse_command_topic(std::string_view base, std::string_view topic) {
    if (!topic.starts_with(base) || topic.substr(base.size(), 1) != "/") return std::nullopt;
    const std::string_view rest = topic.substr(base.size() + 1);
    constexpr std::string_view kSet = "/set/";
    const auto marker = rest.find(kSet);
    if (marker == std::string_view::npos) return std::nullopt;
    const std::string_view serial = rest.substr(0, marker), key = rest.substr(marker + kSet.size());
    if (serial.empty() || key.empty() || serial.find('/') != std::string_view::npos || key.find('/') != std::string_view::npos)
        return std::nullopt;
    return CommandTopic{std::string(serial), std::string(key)};
}

using namespace std::chrono;

LocalSession::LocalSession(EventLoop& loop, LocalOptions options) : loop_(loop), options_(std::move(options)), session_(loop, "local") {
    instance_.prefix = options_.prefix;
    instance_.base = options_.base;
    instance_.bridge_id = options_.client_id;
    mqtt::Session::Handlers h;
    h.on_connect = [this](int rc, const std::string& reason) {
        if (rc != 0) return schedule_reconnect(reason);
        on_connect();
    };
    h.on_disconnect = [this](int, const std::string& reason) { schedule_reconnect("connection lost: " + reason); };
    h.on_message = [this](const std::string& topic, ByteSpan payload, bool retained) { on_message(topic, payload, retained); };
    h.on_publish = [this](int mid) {
        if (configs_in_flight_.erase(mid) && !config_queue_.empty()) schedule_drain();
    };
    session_.set_handlers(std::move(h));
}

LocalSession::~LocalSession() {
    for (auto t : {retry_timer_, states_timer_, scan_timer_, birth_timer_, drain_timer_})
        if (t) loop_.cancel(t);
}

void LocalSession::start() {
    stopping_ = false;
    connect();
}

void LocalSession::connect() {
    retry_timer_ = 0;
    mqtt::Options o;
    o.host = options_.host;
    o.port = options_.port;
    o.client_id = options_.client_id;
    o.clean_session = true;
    o.username = options_.username;
    o.password = options_.password;
    o.tls = options_.tls;
    o.ca_file = options_.ca_file;
    o.cert_file = options_.cert_file;
    o.key_file = options_.key_file;
    o.will = mqtt::Will{bridge_availability_topic(), "offline", 1, true};
    std::string error;
    if (!session_.connect(o, error)) schedule_reconnect(error);
}

void LocalSession::schedule_reconnect(const std::string& why) {
    if (stopping_ || retry_timer_) return;
    const auto delay = backoff_delay(failures_, options_.reconnect_initial, options_.reconnect_max);
    ++failures_;
    log::get("local")->warn("local broker {}:{}: {}; reconnecting in {} ms", options_.host, options_.port, why, delay.count());
    retry_timer_ = loop_.after(delay, [this] { connect(); });
}

void LocalSession::on_connect() {
    failures_ = 0;
    configs_in_flight_.clear();  // a new libmosquitto client: nothing of the old one is in flight
    ever_connected_ = true;
    log::get("local")->info("connected to the local broker {}:{}", options_.host, options_.port);
    session_.publish(bridge_availability_topic(), std::string("online"), 1, true);
    for (const auto& t : options_.status_topics) session_.subscribe(t, 1);
    session_.subscribe(options_.base + "/+/set/+", 1);
    if (!scan_done_) {
        // Collect our retained configs for the start-up clean-up (docs/home-assistant.md §11).
        // And our retained states, before ours of this run replace them (the broker sends the
        // retained messages of a subscription before it handles our next publish).
        session_.subscribe(options_.prefix + "/device/+/config", 1);
        session_.subscribe(options_.prefix + "/+/+/+/config", 1);
        session_.subscribe(options_.base + "/+/+", 1);
        scan_timer_ = loop_.after(options_.scan_window, [this] {
            scan_timer_ = 0;
            scan_done_ = true;
            session_.unsubscribe(options_.prefix + "/device/+/config");
            session_.unsubscribe(options_.prefix + "/+/+/+/config");
            session_.unsubscribe(options_.base + "/+/+");
            run_cleanup();
        });
    }
    publish_all_configs();
    publish_all_retained();
    if (connected_handler_) connected_handler_();
}

void LocalSession::run_cleanup() {
    if (!scan_done_ || !pending_cleanup_) return;
    // What every owner produces now, including owners still waiting in the queue: clearing a config
    // that is about to be published would make HA delete the entity (and its user settings).
    std::set<std::string> current;
    for (const auto& [owner, configs] : discovery_) {
        for (const auto& [topic, hash] : configs.sent) current.insert(topic);
        if (configs.queued && configs.source)
            for (const auto& m : configs.source()) current.insert(m.topic);
    }
    std::size_t cleared = 0;
    for (const auto& topic : seen_configs_) {
        if (pending_cleanup_->count(topic) || current.count(topic)) continue;
        session_.publish(topic, std::string(), 1, true);
        ++cleared;
        log::get("ha")->info("removed stale discovery config {}", topic);
    }
    if (cleared == 0) log::get("ha")->debug("start-up clean-up: no stale discovery configs");
    pending_cleanup_.reset();
    seen_configs_.clear();
}

void LocalSession::cleanup(const std::set<std::string>& keep) {
    pending_cleanup_ = keep;
    run_cleanup();
}

void LocalSession::on_message(const std::string& topic, ByteSpan payload, bool retained) {
    // A view, not a copy: a command payload may be megabytes, and only its first bytes are ever used.
    const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
    for (const auto& status : options_.status_topics) {
        if (topic != status) continue;
        if (text != "online") return;  // on `offline` do nothing (docs/home-assistant.md §8.2)
        // Debounce: several births within 1 s count as one.
        if (birth_timer_) return;
        birth_timer_ = loop_.after(seconds(1), [this] {
            birth_timer_ = 0;
            log::get("ha")->info("Home Assistant came online: re-sending discovery, states in {} ms", options_.state_delay.count());
            // At most one birth-triggered burst per 30 s (docs/home-assistant.md §12); the connect burst does
            // not count, since a restarting Home Assistant may have missed it.
            if (last_birth_burst_ == EventLoop::Clock::time_point{} || loop_.now() - last_birth_burst_ >= seconds(30)) {
                last_birth_burst_ = loop_.now();
                publish_all_configs();
            }
            if (states_timer_) loop_.cancel(states_timer_);
            states_timer_ = loop_.after(options_.state_delay, [this] {
                states_timer_ = 0;
                publish_all_retained();
            });
        });
        return;
    }
    if (auto command = parse_command_topic(options_.base, topic)) {
        if (retained) {
            log::get("ha")->warn("ignoring a retained command on {} (stale)", text::echo(topic));
            return;
        }
        if (command_handler_) command_handler_(command->serial, command->key, text);
        return;
    }
    if (!scan_done_ && retained && topic.rfind(options_.base + "/", 0) == 0) {
        const std::string rest = topic.substr(options_.base.size() + 1);  // <serial>/<name>
        const auto slash = rest.find('/');
        if (slash != std::string::npos && slash > 0 && rest.find('/', slash + 1) == std::string::npos) {
            if (retained_state_handler_) retained_state_handler_(rest.substr(0, slash), std::string(text));
            return;
        }
    }
    if (!scan_done_ && retained && !text.empty() && topic.size() > 7 && topic.compare(topic.size() - 7, 7, "/config") == 0) {
        // Ours: a topic id starting with bluetti_ and a config this instance published, not another
        // bridge instance on the same broker (ha::published_by).
        if (topic.find("/bluetti_") == std::string::npos) return;
        const auto j = nlohmann::json::parse(text, nullptr, false);
        if (!j.is_discarded() && published_by(instance_, j)) seen_configs_.insert(topic);
    }
}

void LocalSession::publish_all_configs() {
    for (const auto& [owner, configs] : discovery_) queue_owner(owner, true);
}

void LocalSession::publish_all_retained() {
    for (const auto& [topic, payload] : retained_) session_.publish(topic, payload, 1, true);
}

void LocalSession::set_discovery(const std::string& owner, DiscoverySource source, bool force) {
    discovery_[owner].source = std::move(source);
    queue_owner(owner, force);
}

void LocalSession::forget_source(const std::string& owner) {
    auto it = discovery_.find(owner);
    if (it != discovery_.end()) it->second.source = nullptr;  // drain_configs() skips it
}

void LocalSession::remove_owner(const std::string& owner) {
    auto it = discovery_.find(owner);
    if (it == discovery_.end()) return;
    if (session_.connected())
        for (const auto& [topic, hash] : it->second.sent) session_.publish(topic, std::string(), 1, true);
    discovery_.erase(it);
    std::erase(config_queue_, owner);
}

void LocalSession::queue_owner(const std::string& owner, bool force) {
    auto& configs = discovery_[owner];
    configs.force = configs.force || force;
    if (!configs.queued) {
        configs.queued = true;
        config_queue_.push_back(owner);
    }
    schedule_drain();
}

void LocalSession::schedule_drain() {
    if (drain_timer_ || !session_.connected()) return;
    drain_timer_ = loop_.after(milliseconds(0), [this] {
        drain_timer_ = 0;
        drain_configs();
    });
}

void LocalSession::drain_configs() {
    while (session_.connected() && !config_queue_.empty() && configs_in_flight_.size() < options_.config_window) {
        const std::string owner = std::move(config_queue_.front());
        config_queue_.pop_front();
        auto it = discovery_.find(owner);
        if (it == discovery_.end()) continue;
        it->second.queued = false;
        if (it->second.source) publish_owner(owner, it->second);
    }
}

void LocalSession::publish_owner(const std::string& owner, OwnerConfigs& configs) {
    auto track = [this](const std::string& topic, const std::string& payload) {
        const int mid = session_.publish(topic, payload, 1, true);
        if (mid >= 0) configs_in_flight_.insert(mid);
    };
    std::map<std::string, std::uint64_t> next;
    for (const auto& m : configs.source()) {
        const std::uint64_t hash = fnv1a64(m.payload);
        next[m.topic] = hash;
        auto was = configs.sent.find(m.topic);
        if (configs.force || was == configs.sent.end() || was->second != hash) track(m.topic, m.payload);
    }
    for (const auto& [topic, hash] : configs.sent)
        if (!next.count(topic)) track(topic, std::string());
    log::get("ha")->debug("{}: {} discovery config(s) current", owner, next.size());
    configs.sent = std::move(next);
    configs.force = false;
}

void LocalSession::publish_retained(const std::string& topic, const std::string& payload, bool force) {
    auto it = retained_.find(topic);
    if (!force && it != retained_.end() && it->second == payload) return;
    retained_[topic] = payload;
    if (session_.connected()) session_.publish(topic, payload, 1, true);
}

void LocalSession::stop() {
    stopping_ = true;
    for (auto* t : {&retry_timer_, &states_timer_, &scan_timer_, &birth_timer_, &drain_timer_}) {
        if (*t) loop_.cancel(*t);
        *t = 0;
    }
    if (session_.connected()) {
        session_.publish(bridge_availability_topic(), std::string("offline"), 1, true);
        session_.disconnect();
    }
}

}  // namespace bluetti::ha
