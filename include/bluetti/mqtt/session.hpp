// Session: the one narrow owner of a libmosquitto client (docs/style.md #10), driven from our
// EventLoop with mosquitto_loop_read/write/misc (never mosquitto_loop_start: no hidden threads).
// Used for the Bluetti cloud broker (with an in-memory SSL_CTX) and for the user's local broker
// (plain, or TLS from files). Reconnect policy lives with the caller; this class only reports.
#pragma once

#include <openssl/ssl.h>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bluetti/event_loop.hpp"
#include "bluetti/hex.hpp"

struct mosquitto;
struct mosquitto_message;
namespace spdlog {
class logger;
}

namespace bluetti::mqtt {

struct Will {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = true;
};

struct Options {
    std::string host = "127.0.0.1";
    int port = 1883;
    std::string client_id;
    int keepalive_s = 60;
    bool clean_session = true;
    std::string username;  // empty = none
    std::string password;
    std::optional<Will> will;

    // TLS, either from an SSL_CTX we built (cloud: PKCS#12 in memory; not owned, must outlive the
    // session) or from files (local broker). Verification is the CTX's / on unless tls_insecure.
    SSL_CTX* ssl_ctx = nullptr;
    bool tls = false;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    bool tls_insecure = false;
};

class Session {
public:
    struct Handlers {
        std::function<void(int rc, const std::string& reason)> on_connect;     // rc 0 = accepted
        std::function<void(int rc, const std::string& reason)> on_disconnect;  // rc 0 = we asked for it
        std::function<void(const std::string& topic, ByteSpan payload, bool retained)> on_message;
        std::function<void(int mid, const std::vector<int>& granted_qos)> on_subscribe;
        std::function<void(int mid)> on_publish;
    };

    Session(EventLoop& loop, std::string log_area);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void set_handlers(Handlers handlers) { handlers_ = std::move(handlers); }

    // Starts a non-blocking connect; false (and `error`) when it cannot even start.
    bool connect(const Options& options, std::string& error);
    void disconnect();
    bool connected() const { return connected_; }
    // The last OpenSSL error libmosquitto reported since connect() ("…sslv3 alert certificate
    // expired"): a TLS failure the broker signalled after the handshake looked done to us.
    const std::string& last_tls_error() const { return last_tls_error_; }

    // Message id (≥ 0) or -1 when not connected / refused by libmosquitto.
    int subscribe(const std::string& topic, int qos);
    void unsubscribe(const std::string& topic);
    int publish(const std::string& topic, ByteSpan payload, int qos, bool retain);
    int publish(const std::string& topic, const std::string& payload, int qos, bool retain);

private:
    EventLoop& loop_;
    EventLoop::HookId hook_ = 0;
    EventLoop::TimerId keepalive_timer_ = 0;
    std::string log_area_;
    std::shared_ptr<spdlog::logger> logger_;  // log_area_'s
    mosquitto* mosq_ = nullptr;
    Handlers handlers_;
    int watched_fd_ = -1;
    bool connected_ = false;
    std::string last_tls_error_;
    bool want_disconnect_ = false;
    bool in_callback_ = false;            // inside a libmosquitto callback: no re-entrant calls
    bool pending_disconnect_ = false;     // a disconnect asked for from a callback
    std::exception_ptr handler_failure_;  // thrown by a handler inside libmosquitto, thrown again outside it

    void pump();  // before every poll: watch the current socket, run misc (keep-alive)
    void arm_keepalive(int keepalive_s);
    void on_readable(short revents);
    void drop_socket();
    template <class Handler, class Where>
    void run_handler(const Handler& handler, const Where& where);
    void rethrow_handler_failure();

    static void handle_connect(mosquitto*, void* self, int rc);
    static void handle_disconnect(mosquitto*, void* self, int rc);
    static void handle_message(mosquitto*, void* self, const ::mosquitto_message* message);
    static void handle_subscribe(mosquitto*, void* self, int mid, int count, const int* granted);
    static void handle_publish(mosquitto*, void* self, int mid);
    static void handle_log(mosquitto*, void* self, int level, const char* text);
};

}  // namespace bluetti::mqtt
