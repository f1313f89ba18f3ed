#include "bluetti/cloud/cloud_link.hpp"

#include <algorithm>
#include <cmath>

#include "bluetti/backoff.hpp"
#include "bluetti/log.hpp"

namespace bluetti::cloud {

using namespace std::chrono;

std::string_view to_string(LinkFailure failure) {
    switch (failure) {
        case LinkFailure::none:
            return "none";
        case LinkFailure::unreachable:
            return "unreachable";
        case LinkFailure::tls:
            return "tls";
        case LinkFailure::auth:
            return "auth";
        case LinkFailure::session_conflict:
            return "session_conflict";
        case LinkFailure::subscribe_refused:
            return "subscribe_refused";
    }
    return "?";
}

milliseconds reconnect_delay(int failures, bool conflict, milliseconds initial, milliseconds max, double jitter_unit) {
    // A session conflict doubles the base: one failure more.
    return backoff_delay(failures + (conflict ? 1 : 0), initial, max, jitter_unit);
}

Result<std::string, std::string> expand_topic(const std::string& pattern, const std::string& model, const std::string& sub_sn,
                                              const std::string& sn) {
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '{') {
            out.push_back(pattern[i]);
            continue;
        }
        const auto close = pattern.find('}', i);
        if (close == std::string::npos) return fail("topic '" + pattern + "' has an unclosed {");
        const std::string name = pattern.substr(i + 1, close - i - 1);
        if (name == "model")
            out += model;
        else if (name == "sub_sn")
            out += sub_sn;
        else if (name == "sn")
            out += sn;
        else
            return fail("topic '" + pattern + "' uses unknown placeholder {" + name + "} (known: {model}, {sub_sn}, {sn})");
        i = close;
    }
    if (out.find_first_of("+#") != std::string::npos) return fail("topic '" + out + "' must not contain + or #");
    return out;
}

CloudLink::CloudLink(EventLoop& loop, CloudLinkOptions options, CredentialSource credentials)
    : loop_(loop),
      options_(std::move(options)),
      credentials_(std::move(credentials)),
      session_(loop, "cloud"),
      random_(std::random_device{}()) {
    if (options_.client_id.empty()) {
        static constexpr char digits[] = "0123456789abcdef";
        for (int i = 0; i < 32; ++i) options_.client_id.push_back(digits[random_() % 16]);
    }
    mqtt::Session::Handlers h;
    h.on_connect = [this](int rc, const std::string& reason) {
        if (rc == -1) return connect_failed(reason);  // before CONNACK: TCP or TLS
        // 4/5: credentials refused; others: refused.
        if (rc != 0) return failed(rc == 4 || rc == 5 ? LinkFailure::auth : LinkFailure::session_conflict, reason);
        ++status_.connects;
        acked_ = false;
        log::get("cloud")->info("connected to {}:{} as client {}", options_.host, options_.port, options_.client_id);
        set_state(State::up);
        for (auto& [id, device] : devices_) subscribe(id, device);
    };
    h.on_disconnect = [this](int, const std::string& reason) {
        // The broker closed a session it had accepted: on the Bluetti broker that is another client
        // with the same account taking the session over (docs/protocol.md §1.10).
        mirror_lost_session();
        for (auto& [id, device] : devices_) device.subscribed = false;
        failed(LinkFailure::session_conflict, "the broker closed the session (" + reason + ")");
    };
    h.on_subscribe = [this](int mid, const std::vector<int>& granted) {
        if (mirror_answered(mid, granted)) return;
        for (auto& [id, device] : devices_) {
            if (device.pending_mid != mid) continue;
            device.pending_mid = -1;
            device.refused = granted.empty() || granted[0] >= 0x80;
            device.subscribed = !device.refused;
            if (device.refused) {
                log::get("cloud")->error(
                    "the broker refused the subscription to {} for device {} (SUBACK 0x{:02x}); the account may not own it",
                    device.response_topic, id, granted.empty() ? 0x80 : granted[0]);
            }
        }
        const bool all_answered = std::all_of(devices_.begin(), devices_.end(), [](const auto& d) { return d.second.pending_mid < 0; });
        if (all_answered && !acked_) {
            acked_ = true;
            failures_ = 0;  // CONNACK + SUBACK: the backoff starts over
            status_.last_failure = LinkFailure::none;
            status_.last_error.clear();
            set_state(State::up);
        }
    };
    h.on_message = [this](const std::string& topic, ByteSpan payload, bool retained) {
        if (retained) return;  // defensive: a retained frame is old news (docs/protocol.md §1.10)
        if (auto it = by_topic_.find(topic); it != by_topic_.end()) {
            if (it->second->on_payload) it->second->on_payload(payload);
        } else if (auto mirrored = by_request_topic_.find(topic); mirrored != by_request_topic_.end()) {
            if (mirrored->second->on_request) mirrored->second->on_request(payload);
        }
    };
    session_.set_handlers(std::move(h));
}

CloudLink::~CloudLink() {
    if (retry_timer_) loop_.cancel(retry_timer_);
}

void CloudLink::add_device(const std::string& id, const std::string& request_topic, const std::string& response_topic,
                           PayloadHandler on_payload, PayloadHandler on_request) {
    Device& d = devices_[id];
    by_topic_.erase(d.response_topic);  // a device added again may come with other topics
    by_request_topic_.erase(d.request_topic);
    d.request_topic = request_topic;
    d.response_topic = response_topic;
    d.on_payload = std::move(on_payload);
    d.on_request = std::move(on_request);
    by_topic_[response_topic] = &d;
    if (d.on_request) by_request_topic_[request_topic] = &d;
    if (session_.connected()) subscribe(id, d);
}

void CloudLink::remove_device(const std::string& id) {
    auto it = devices_.find(id);
    if (it == devices_.end()) return;
    by_topic_.erase(it->second.response_topic);
    by_request_topic_.erase(it->second.request_topic);
    devices_.erase(it);
}

bool CloudLink::send(const std::string& id, ByteSpan payload) {
    auto it = devices_.find(id);
    if (it == devices_.end() || !session_.connected()) return false;
    return session_.publish(it->second.request_topic, payload, 1, false) >= 0;
}

bool CloudLink::device_ready(const std::string& id) const {
    auto it = devices_.find(id);
    return it != devices_.end() && it->second.subscribed && !it->second.refused && session_.connected();
}

void CloudLink::subscribe(const std::string& id, Device& device) {
    device.subscribed = false;
    device.refused = false;
    device.pending_mid = session_.subscribe(device.response_topic, 1);
    if (device.pending_mid < 0) log::get("cloud")->warn("cannot subscribe to {} for {}", device.response_topic, id);
    subscribe_mirror(id, device);
}

CloudLink::Mirror CloudLink::mirror(const std::string& id) const {
    auto it = devices_.find(id);
    return it == devices_.end() ? Mirror::off : it->second.mirror;
}

void CloudLink::subscribe_mirror(const std::string& id, Device& device) {
    device.mirror_mid = -1;
    if (!device.on_request || device.mirror == Mirror::refused) return;
    if (!mirror_allowed_) {
        device.mirror = Mirror::closed;
        return;
    }
    // QoS 0: what the mirror shows is advice; losing one copy costs a confirmation, not a value.
    device.mirror_mid = session_.subscribe(device.request_topic, 0);
    device.mirror = device.mirror_mid < 0 ? Mirror::off : Mirror::pending;
    if (device.mirror_mid < 0) log::get("cloud")->debug("cannot subscribe to {} for {}", device.request_topic, id);
}

// A SUBACK for a mirror subscription; false when `mid` is not one.
bool CloudLink::mirror_answered(int mid, const std::vector<int>& granted) {
    for (auto& [id, device] : devices_) {
        if (device.mirror_mid != mid || mid < 0) continue;
        device.mirror_mid = -1;
        if (granted.empty() || granted[0] >= 0x80) {
            device.mirror = Mirror::refused;
            log::get("cloud")->info(
                "the broker does not let us watch {} (SUBACK 0x{:02x}); telling our replies from other clients' without it",
                device.request_topic, granted.empty() ? 0x80 : granted[0]);
        } else {
            device.mirror = Mirror::granted;
            mirror_granted_at_ = loop_.now();
        }
        return true;
    }
    return false;
}

// The session closed: if that happened while a mirror subscription was pending or right after one
// was granted, the broker may be one that closes sessions over a subscription it does not allow.
// Never ask again in this process, so that this costs one reconnect and not a loop.
void CloudLink::mirror_lost_session() {
    constexpr auto kJustAfter = std::chrono::seconds(5);
    bool pending = false;
    for (auto& [id, device] : devices_) pending = pending || device.mirror == Mirror::pending;
    const bool just_granted = mirror_granted_at_ && loop_.now() - *mirror_granted_at_ < kJustAfter;
    if (mirror_allowed_ && (pending || just_granted)) {
        mirror_allowed_ = false;
        log::get("cloud")->warn(
            "the broker closed the session right after we asked to watch the devices' request topics; continuing without that");
    }
    for (auto& [id, device] : devices_) {
        device.mirror_mid = -1;
        if (device.mirror != Mirror::refused) device.mirror = mirror_allowed_ ? Mirror::off : Mirror::closed;
    }
}

void CloudLink::start() {
    if (status_.state != State::stopped) return;
    connect();
}

void CloudLink::stop() {
    if (retry_timer_) loop_.cancel(retry_timer_);
    retry_timer_ = 0;
    session_.disconnect();
    set_state(State::stopped);
}

void CloudLink::connect() {
    retry_timer_ = 0;
    auto credentials = credentials_();
    if (!credentials) return failed(LinkFailure::auth, credentials.error());
    mqtt::Options o;
    o.host = options_.host;
    o.port = options_.port;
    o.client_id = options_.client_id;
    o.keepalive_s = options_.keepalive_s;
    o.username = credentials->username;
    o.password = credentials->password;
    tls_ = credentials->tls;
    if (tls_) tls_->clear_verify_error();
    o.ssl_ctx = tls_ ? tls_->get() : nullptr;
    o.tls_insecure = options_.tls_insecure;
    if (options_.tls_insecure) {
        log::get("cloud")->warn("tls_insecure is set: the cloud broker's certificate is NOT verified");
    }
    set_state(State::connecting);
    std::string error;
    if (!session_.connect(o, error)) connect_failed(error);
}

// A connect that failed before CONNACK. A TLS failure says why (our check of the broker's
// certificate, or the broker's alert about ours); anything else is a broker out of reach. A handshake
// may fail inside mosquitto_connect_async already (on loopback the broker answers at once) or later
// in the loop, depending on timing: both come here, so the same failure reads the same.
void CloudLink::connect_failed(const std::string& reason) {
    const std::string verify = tls_ ? tls_->last_verify_error() : std::string();
    // The broker refusing our certificate arrives as an alert after the handshake: the connection
    // is "lost", and only libmosquitto's log says why.
    const std::string alert = session_.last_tls_error();
    if (verify.empty() && alert.empty() && reason.find("TLS") == std::string::npos) return failed(LinkFailure::unreachable, reason);
    std::string detail = drain_openssl_errors();
    if (detail.empty()) detail = alert;
    failed(LinkFailure::tls, !verify.empty() ? verify : detail.empty() ? reason : reason + " " + detail);
}

void CloudLink::failed(LinkFailure failure, const std::string& error) {
    if (status_.state == State::stopped) return;
    const bool conflict = failure == LinkFailure::session_conflict;
    if (conflict) ++status_.conflicts;
    status_.last_failure = failure;
    status_.last_error = error;
    if ((failure == LinkFailure::auth || failure == LinkFailure::tls) && auth_failure_handler_) auth_failure_handler_(failure);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto delay = reconnect_delay(failures_, conflict, options_.reconnect_initial, options_.reconnect_max, unit(random_));
    ++failures_;
    status_.next_retry = delay;
    auto logger = log::get("cloud");
    switch (failure) {
        case LinkFailure::session_conflict:
            logger->warn(
                "cloud session lost: {}; another client (the Bluetti app?) probably holds the account's only session. "
                "Reconnecting in {} s",
                status_.last_error, delay.count() / 1000);
            break;
        case LinkFailure::tls:
            logger->error(
                "TLS with the cloud broker failed: {}. If the broker's CA is not trusted, set cloud.ca_file, or "
                "cloud.tls_insecure: true to skip verification. Retrying in {} s",
                status_.last_error, delay.count() / 1000);
            break;
        default:
            logger->warn("cloud broker {}: {}; retrying in {} s", to_string(failure), status_.last_error, delay.count() / 1000);
    }
    session_.disconnect();
    set_state(State::waiting);
    if (retry_timer_) loop_.cancel(retry_timer_);
    retry_timer_ = loop_.after(delay, [this] { connect(); });
}

void CloudLink::set_state(State state) {
    status_.state = state;
    if (status_handler_) status_handler_(status_);
}

}  // namespace bluetti::cloud
