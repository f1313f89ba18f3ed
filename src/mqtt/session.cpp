#include "bluetti/mqtt/session.hpp"

#include <mosquitto.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "bluetti/log.hpp"

namespace bluetti::mqtt {

namespace {
// Marks the time libmosquitto spends in one of our callbacks.
struct CallbackScope {
    bool& flag;
    bool outer;
    explicit CallbackScope(bool& f) : flag(f), outer(f) { flag = true; }
    ~CallbackScope() { flag = outer; }
};

// A topic for a log line: it comes from the broker, so only printable ASCII, and not too much of it.
std::string printable(const char* topic) {
    std::string out;
    for (const char* c = topic; c && *c && out.size() < 200; ++c) out.push_back(*c >= 0x20 && *c < 0x7f ? *c : '?');
    return out;
}

void library_init() {
    static std::once_flag once;
    std::call_once(once, [] { mosquitto_lib_init(); });
}
}  // namespace

Session::Session(EventLoop& loop, std::string log_area) : loop_(loop), log_area_(std::move(log_area)), logger_(log::get(log_area_)) {
    library_init();
    hook_ = loop_.before_poll([this] { pump(); });
}

Session::~Session() {
    loop_.remove_hook(hook_);
    if (keepalive_timer_) loop_.cancel(keepalive_timer_);
    drop_socket();
    if (mosq_) mosquitto_destroy(mosq_);
}

bool Session::connect(const Options& o, std::string& error) {
    pending_disconnect_ = false;
    last_tls_error_.clear();
    drop_socket();
    if (mosq_) mosquitto_destroy(mosq_);
    connected_ = false;
    want_disconnect_ = false;
    mosq_ = mosquitto_new(o.client_id.empty() ? nullptr : o.client_id.c_str(), o.clean_session, this);
    if (!mosq_) {
        error = "cannot create an MQTT client";
        return false;
    }
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    // QoS 1 writes a PUBACK and a PUBLISH back to back; with Nagle on, the second waits for the
    // peer's delayed ACK (~40 ms) on every request/reply (measured: 88 ms round trips on loopback).
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(mosq_, &Session::handle_connect);
    mosquitto_disconnect_callback_set(mosq_, &Session::handle_disconnect);
    mosquitto_message_callback_set(mosq_, &Session::handle_message);
    mosquitto_subscribe_callback_set(mosq_, &Session::handle_subscribe);
    mosquitto_publish_callback_set(mosq_, &Session::handle_publish);
    mosquitto_log_callback_set(mosq_, &Session::handle_log);

    int rc = MOSQ_ERR_SUCCESS;
    if (!o.username.empty()) rc = mosquitto_username_pw_set(mosq_, o.username.c_str(), o.password.empty() ? nullptr : o.password.c_str());
    if (rc == MOSQ_ERR_SUCCESS && o.will) {
        rc = mosquitto_will_set(mosq_, o.will->topic.c_str(), static_cast<int>(o.will->payload.size()), o.will->payload.data(), o.will->qos,
                                o.will->retain);
    }
    if (rc == MOSQ_ERR_SUCCESS && o.ssl_ctx) {
        // Our own SSL_CTX: libmosquitto applies no verification of its own (docs/style.md #10);
        // the context carries the verify mode we chose.
        // libmosquitto 2.0 would otherwise add its "defaults", which demand a CA file of its own.
        rc = mosquitto_int_option(mosq_, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
        if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_void_option(mosq_, MOSQ_OPT_SSL_CTX, o.ssl_ctx);
        if (rc == MOSQ_ERR_SUCCESS && o.tls_insecure) rc = mosquitto_tls_insecure_set(mosq_, true);
    } else if (rc == MOSQ_ERR_SUCCESS && o.tls) {
        const char* ca = o.ca_file.empty() ? nullptr : o.ca_file.c_str();
        if (!ca) mosquitto_int_option(mosq_, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
        rc = mosquitto_tls_set(mosq_, ca, ca ? nullptr : "/etc/ssl/certs", o.cert_file.empty() ? nullptr : o.cert_file.c_str(),
                               o.key_file.empty() ? nullptr : o.key_file.c_str(), nullptr);
        if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_opts_set(mosq_, o.tls_insecure ? 0 : 1, "tlsv1.2", nullptr);
        if (rc == MOSQ_ERR_SUCCESS && o.tls_insecure) rc = mosquitto_tls_insecure_set(mosq_, true);
    }
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_connect_async(mosq_, o.host.c_str(), o.port, o.keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS) {
        error = std::string(rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)) + " (" + o.host + ":" +
                std::to_string(o.port) + ")";
        return false;
    }
    arm_keepalive(o.keepalive_s);
    pump();
    return true;
}

// The loop sleeps until I/O or a timer is due (no tick), so nothing else would run
// mosquitto_loop_misc on a quiet link: it sends PINGREQ once keepalive seconds passed without a
// message out, and drops the link when the PINGRESP does not come. Running it every quarter of the
// keep-alive sends the ping at most 1.25 × keepalive after the last message, inside the 1.5 ×
// keepalive a broker waits before it gives up on a client.
void Session::arm_keepalive(int keepalive_s) {
    if (keepalive_timer_) loop_.cancel(keepalive_timer_);
    keepalive_timer_ = 0;
    if (keepalive_s <= 0) return;
    const auto period = std::max(std::chrono::milliseconds(250), std::chrono::milliseconds(keepalive_s * 1000 / 4));
    keepalive_timer_ = loop_.after(period, [this, keepalive_s] {
        keepalive_timer_ = 0;
        pump();
        arm_keepalive(keepalive_s);
    });
}

void Session::disconnect() {
    if (!mosq_) return;
    if (in_callback_) {
        // libmosquitto holds its own locks while it runs our callback: calling back into it
        // deadlocks. Do it on the next loop pass instead.
        pending_disconnect_ = true;
        want_disconnect_ = true;
        connected_ = false;
        return;
    }
    want_disconnect_ = true;
    mosquitto_disconnect(mosq_);
    // Flush the DISCONNECT now: the caller may be about to exit the loop.
    mosquitto_loop_write(mosq_, 1);
    drop_socket();
    connected_ = false;
}

int Session::subscribe(const std::string& topic, int qos) {
    if (!mosq_ || !connected_) return -1;
    int mid = -1;
    return mosquitto_subscribe(mosq_, &mid, topic.c_str(), qos) == MOSQ_ERR_SUCCESS ? mid : -1;
}

void Session::unsubscribe(const std::string& topic) {
    if (mosq_ && connected_) mosquitto_unsubscribe(mosq_, nullptr, topic.c_str());
}

int Session::publish(const std::string& topic, ByteSpan payload, int qos, bool retain) {
    if (!mosq_ || !connected_) return -1;
    int mid = -1;
    const int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain);
    return rc == MOSQ_ERR_SUCCESS ? mid : -1;
}

int Session::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
    return publish(topic, ByteSpan(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()), qos, retain);
}

void Session::pump() {
    if (!mosq_) return;
    if (pending_disconnect_) {
        pending_disconnect_ = false;
        disconnect();
        return;
    }
    const int fd = mosquitto_socket(mosq_);
    if (fd != watched_fd_) {
        if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
        watched_fd_ = fd;
        if (fd >= 0) loop_.watch(fd, POLLIN, [this](short revents) { on_readable(revents); });
    }
    if (fd < 0) return;
    mosquitto_loop_misc(mosq_);
    rethrow_handler_failure();
    if (mosq_ && mosquitto_socket(mosq_) >= 0)
        loop_.set_events(fd, static_cast<short>(POLLIN | (mosquitto_want_write(mosq_) ? POLLOUT : 0)));
}

void Session::on_readable(short revents) {
    if (!mosq_) return;
    int rc = MOSQ_ERR_SUCCESS;
    if (revents & (POLLIN | POLLHUP | POLLERR)) rc = mosquitto_loop_read(mosq_, 1);
    if (rc == MOSQ_ERR_SUCCESS && mosq_ && (revents & POLLOUT)) rc = mosquitto_loop_write(mosq_, 1);
    rethrow_handler_failure();
    if (rc != MOSQ_ERR_SUCCESS && mosq_ && mosquitto_socket(mosq_) < 0 && connected_) {
        // The socket is gone without a disconnect callback (e.g. a failed TLS read).
        connected_ = false;
        if (handlers_.on_disconnect) handlers_.on_disconnect(rc, mosquitto_strerror(rc));
    } else if (rc != MOSQ_ERR_SUCCESS && mosq_ && !connected_) {
        // Failed while connecting (refused TCP, TLS handshake error): report as a failed connect.
        drop_socket();
        if (handlers_.on_connect) handlers_.on_connect(-1, rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
    }
}

void Session::drop_socket() {
    if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
    watched_fd_ = -1;
}

// Our handlers run inside libmosquitto, a C library that holds its locks around them: an exception
// must not unwind through its frames. The first one is kept, wrapped with what the session was
// handling, and thrown again once libmosquitto has returned; the event loop then logs it and stops.
template <class Handler, class Where>
void Session::run_handler(const Handler& handler, const Where& where) {
    try {
        handler();
    } catch (...) {
        if (handler_failure_) return;
        try {
            std::throw_with_nested(std::runtime_error(log_area_ + " MQTT session, " + where()));
        } catch (...) {
            handler_failure_ = std::current_exception();
        }
    }
}

void Session::rethrow_handler_failure() {
    if (handler_failure_) std::rethrow_exception(std::exchange(handler_failure_, nullptr));
}

void Session::handle_connect(mosquitto*, void* self, int rc) {
    auto* s = static_cast<Session*>(self);
    s->connected_ = rc == 0;
    CallbackScope scope(s->in_callback_);
    if (s->handlers_.on_connect)
        s->run_handler([&] { s->handlers_.on_connect(rc, mosquitto_connack_string(rc)); }, [] { return std::string("on connect"); });
}

void Session::handle_disconnect(mosquitto*, void* self, int rc) {
    auto* s = static_cast<Session*>(self);
    const bool was_connected = s->connected_;
    s->connected_ = false;
    if (s->want_disconnect_ || !was_connected) return;
    CallbackScope scope(s->in_callback_);
    const std::string reason = rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc);
    if (s->handlers_.on_disconnect)
        s->run_handler([&] { s->handlers_.on_disconnect(rc, reason); }, [] { return std::string("on disconnect"); });
}

void Session::handle_message(mosquitto*, void* self, const ::mosquitto_message* m) {
    auto* s = static_cast<Session*>(self);
    CallbackScope scope(s->in_callback_);
    if (s->handlers_.on_message) {
        s->run_handler(
            [&] {
                s->handlers_.on_message(
                    m->topic, ByteSpan(static_cast<const std::uint8_t*>(m->payload), static_cast<std::size_t>(m->payloadlen)), m->retain);
            },
            [&] { return "a message on " + printable(m->topic); });
    }
}

void Session::handle_subscribe(mosquitto*, void* self, int mid, int count, const int* granted) {
    auto* s = static_cast<Session*>(self);
    CallbackScope scope(s->in_callback_);
    if (s->handlers_.on_subscribe)
        s->run_handler([&] { s->handlers_.on_subscribe(mid, std::vector<int>(granted, granted + count)); },
                       [] { return std::string("on subscribe"); });
}

void Session::handle_publish(mosquitto*, void* self, int mid) {
    auto* s = static_cast<Session*>(self);
    if (s->handlers_.on_publish) s->run_handler([&] { s->handlers_.on_publish(mid); }, [] { return std::string("on publish"); });
}

void Session::handle_log(mosquitto*, void* self, int level, const char* text) {
    auto* s = static_cast<Session*>(self);
    if (std::string_view(text).starts_with("OpenSSL Error")) s->last_tls_error_ = text;
    // Called for every packet sent and received (debug chatter): the logger is looked up once per
    // session, and chatter nobody traces costs a level check, not a formatted line.
    const auto& logger = s->logger_;
    if (!(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) && !logger->should_log(spdlog::level::trace)) return;
    if (level & (MOSQ_LOG_ERR))
        logger->warn("libmosquitto: {}", text);
    else if (level & MOSQ_LOG_WARNING)
        logger->info("libmosquitto: {}", text);
    else
        logger->trace("libmosquitto: {}", text);
}

}  // namespace bluetti::mqtt
