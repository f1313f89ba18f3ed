// MqttTestClient: a test's own MQTT client (bluetti::mqtt::Session on a private EventLoop)
// with blocking, time-limited steps: connect, subscribe, publish, wait for a message or for the
// broker to drop us. Every wait runs the loop until the condition holds or the timeout passes —
// readiness by event, never by sleeping.
//
//   MqttTestClient client;
//   mqtt::Options o;  o.port = broker.port();  o.client_id = "probe";
//   REQUIRE_MESSAGE(client.connect(o, 10s, error), error);
//   REQUIRE(client.subscribe("PUB/EL100V2/1234567890123", 10s));
//   client.publish("SUB/EL100V2/1234567890123", request);
//   auto reply = client.wait_message([](const auto& m) { return m.topic.starts_with("PUB/"); }, 10s);
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "bluetti/event_loop.hpp"
#include "bluetti/hex.hpp"
#include "bluetti/mqtt/session.hpp"

namespace bluetti::systest {

struct MqttMessage {
    std::string topic;
    Bytes payload;
    bool retained = false;
    std::string text() const { return std::string(payload.begin(), payload.end()); }
};

class MqttTestClient {
public:
    MqttTestClient();
    ~MqttTestClient();
    MqttTestClient(const MqttTestClient&) = delete;
    MqttTestClient& operator=(const MqttTestClient&) = delete;

    // Connects and waits for CONNACK; false with `error` (refused, TLS failure, timeout).
    bool connect(const mqtt::Options& options, std::chrono::milliseconds timeout, std::string& error);
    // Subscribes and waits for the SUBACK; false when refused (granted QoS ≥ 0x80) or timed out.
    bool subscribe(const std::string& topic, std::chrono::milliseconds timeout, int qos = 1);
    // Publishes and waits until libmosquitto has handed it over (PUBACK for QoS 1).
    bool publish(const std::string& topic, ByteSpan payload, std::chrono::milliseconds timeout = std::chrono::seconds(10), int qos = 1,
                 bool retain = false);
    bool publish(const std::string& topic, const std::string& payload, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                 int qos = 1, bool retain = false);

    // The first received message (oldest first) that `match` accepts, taken out of the inbox;
    // waits for one up to `timeout`.
    std::optional<MqttMessage> wait_message(const std::function<bool(const MqttMessage&)>& match, std::chrono::milliseconds timeout);
    std::optional<MqttMessage> wait_message(const std::string& topic, std::chrono::milliseconds timeout);
    // Waits until the broker drops the connection (session taken over, broker stopped).
    bool wait_disconnect(std::chrono::milliseconds timeout);
    // Runs the loop for `duration` (to prove that something does NOT happen).
    void run_for(std::chrono::milliseconds duration);

    void disconnect();
    bool connected() const { return session_.connected(); }
    int disconnects() const { return disconnects_; }
    const std::string& last_disconnect_reason() const { return last_disconnect_reason_; }
    std::deque<MqttMessage>& inbox() { return inbox_; }
    EventLoop& loop() { return loop_; }

private:
    EventLoop loop_;  // declared before the session: the session's hook lives in it
    mqtt::Session session_;
    std::deque<MqttMessage> inbox_;
    int connect_rc_ = 1;  // 1 = pending, 0 = accepted, other = refused / failed
    std::string connect_reason_;
    int disconnects_ = 0;
    std::string last_disconnect_reason_;
    int last_suback_mid_ = -1;
    std::vector<int> last_granted_;
    int last_puback_mid_ = -1;
};

}  // namespace bluetti::systest
