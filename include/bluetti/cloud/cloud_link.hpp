// CloudLink: the one MQTT session per Bluetti account (docs/protocol.md §1.10, §2), shared by all its
// devices and told apart by topic. It subscribes every device's response topic (a SUBACK refusal is
// reported per topic), routes inbound payloads to the device by topic, and reconnects with the
// measured backoff: min(initial·2^k, max) × (1 + U(0, 0.25)), doubled when another client (the
// phone app) took the session over. Credentials are asked for before every CONNECT, so the
// time-based password is always fresh.
//
// It also asks for each device's *request* topic (the mirror), so that other clients' reads can
// be seen and their replies told from ours (reply_attribution.hpp). The Bluetti broker's ACL may
// not allow it; every way a broker can say no ends in running without the mirror, never in a
// reconnect loop: a SUBACK failure code (that device, for the process's life), a session closed
// while the subscription was pending or just after it (no mirror for any device from then on), or
// silence (the channel sees none of its own reads, and relies on the other rules).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "bluetti/cloud/tls.hpp"
#include "bluetti/event_loop.hpp"
#include "bluetti/mqtt/session.hpp"
#include "bluetti/result.hpp"

namespace bluetti::cloud {

// Why the link is down (docs/protocol.md §1.10; [BHA] mqtt/connection.py classifies the same way).
enum class LinkFailure { none, unreachable, tls, auth, session_conflict, subscribe_refused };
std::string_view to_string(LinkFailure failure);

struct LinkCredentials {
    std::string username;
    std::string password;
    TlsContext* tls = nullptr;  // owned by the caller; its verify error explains a TLS failure
};

struct CloudLinkOptions {
    std::string host;
    int port = 18760;
    std::string client_id;  // empty = 32 random hex characters per process start
    int keepalive_s = 60;
    bool tls_insecure = false;
    std::chrono::milliseconds reconnect_initial{45000};
    std::chrono::milliseconds reconnect_max{600000};
};

class CloudLink {
public:
    enum class State { stopped, connecting, up, waiting };
    struct Status {
        State state = State::stopped;
        LinkFailure last_failure = LinkFailure::none;
        std::string last_error;
        std::uint64_t connects = 0;
        std::uint64_t conflicts = 0;
        std::chrono::milliseconds next_retry{0};
    };
    using CredentialSource = std::function<Result<LinkCredentials, std::string>()>;
    using PayloadHandler = std::function<void(ByteSpan payload)>;

    CloudLink(EventLoop& loop, CloudLinkOptions options, CredentialSource credentials);
    ~CloudLink();

    // A device's topics; its payloads go to `on_payload`, and what the mirror shows of its request
    // topic to `on_request` (none: no mirror). Subscribes at once when up.
    void add_device(const std::string& id, const std::string& request_topic, const std::string& response_topic, PayloadHandler on_payload,
                    PayloadHandler on_request = nullptr);
    void remove_device(const std::string& id);
    // Publishes on the device's request topic (QoS 1); false when the link is down.
    bool send(const std::string& id, ByteSpan payload);
    bool device_ready(const std::string& id) const;  // subscribed and not refused
    enum class Mirror { off, pending, granted, refused, closed };
    Mirror mirror(const std::string& id) const;

    void start();
    void stop();
    const Status& status() const { return status_; }
    void on_status(std::function<void(const Status&)> handler) { status_handler_ = std::move(handler); }
    // Called after an authentication failure (CONNACK refused or TLS refused): the owner may
    // refresh the token or the PKCS#12 before the next attempt.
    void on_auth_failure(std::function<void(LinkFailure)> handler) { auth_failure_handler_ = std::move(handler); }
    const std::string& client_id() const { return options_.client_id; }

private:
    struct Device {
        std::string request_topic;
        std::string response_topic;
        PayloadHandler on_payload;
        PayloadHandler on_request;
        int pending_mid = -1;
        bool subscribed = false;
        bool refused = false;
        int mirror_mid = -1;
        Mirror mirror = Mirror::off;
    };

    EventLoop& loop_;
    CloudLinkOptions options_;
    CredentialSource credentials_;
    mqtt::Session session_;
    std::map<std::string, Device> devices_;
    // Indexes into devices_ (whose nodes stay put), so a message costs one look-up by its topic.
    std::map<std::string, Device*> by_topic_;          // response topic -> its device
    std::map<std::string, Device*> by_request_topic_;  // request topic -> its device (the mirror)
    bool mirror_allowed_ = true;                       // false once the broker closed a session over it
    std::optional<Scheduler::Clock::time_point> mirror_granted_at_;
    Status status_;
    int failures_ = 0;  // consecutive, reset after CONNACK + SUBACKs
    bool acked_ = false;
    EventLoop::TimerId retry_timer_ = 0;
    TlsContext* tls_ = nullptr;
    std::mt19937 random_;
    std::function<void(const Status&)> status_handler_;
    std::function<void(LinkFailure)> auth_failure_handler_;

    void connect();
    void subscribe(const std::string& id, Device& device);
    void subscribe_mirror(const std::string& id, Device& device);
    bool mirror_answered(int mid, const std::vector<int>& granted);
    void mirror_lost_session();
    void connect_failed(const std::string& reason);
    void failed(LinkFailure failure, const std::string& error);
    void set_state(State state);
};

// min(initial·2^k, max) × (1 + U(0, 0.25)), base doubled for a session conflict, capped at max.
std::chrono::milliseconds reconnect_delay(int failures, bool conflict, std::chrono::milliseconds initial, std::chrono::milliseconds max,
                                          double jitter_unit);

// "SUB/{model}/{sub_sn}" with {model}, {sub_sn}, {sn}; an unknown placeholder is an error.
Result<std::string, std::string> expand_topic(const std::string& pattern, const std::string& model, const std::string& sub_sn,
                                              const std::string& sn);

}  // namespace bluetti::cloud
