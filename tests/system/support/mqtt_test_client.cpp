#include "mqtt_test_client.hpp"

namespace bluetti::systest {

MqttTestClient::MqttTestClient() : session_(loop_, "test") {
    session_.set_handlers({
        .on_connect =
            [this](int rc, const std::string& reason) {
                connect_rc_ = rc == 0 ? 0 : (rc == 1 ? -1 : rc);
                connect_reason_ = reason;
            },
        .on_disconnect =
            [this](int, const std::string& reason) {
                ++disconnects_;
                last_disconnect_reason_ = reason;
                if (connect_rc_ == 1) {  // dropped before CONNACK: a failed connect
                    connect_rc_ = -1;
                    connect_reason_ = "disconnected before CONNACK: " + reason;
                }
            },
        .on_message =
            [this](const std::string& topic, ByteSpan payload, bool retained) {
                inbox_.push_back(MqttMessage{topic, Bytes(payload.begin(), payload.end()), retained});
            },
        .on_subscribe =
            [this](int mid, const std::vector<int>& granted) {
                last_suback_mid_ = mid;
                last_granted_ = granted;
            },
        .on_publish = [this](int mid) { last_puback_mid_ = mid; },
    });
}

MqttTestClient::~MqttTestClient() {
    disconnect();
}

bool MqttTestClient::connect(const mqtt::Options& options, std::chrono::milliseconds timeout, std::string& error) {
    connect_rc_ = 1;
    connect_reason_.clear();
    if (!session_.connect(options, error)) return false;
    loop_.run_until([this] { return connect_rc_ != 1; }, timeout);
    if (connect_rc_ == 0) return true;
    error = connect_rc_ == 1 ? "no CONNACK within " + std::to_string(timeout.count()) + " ms" : "connect failed: " + connect_reason_;
    return false;
}

bool MqttTestClient::subscribe(const std::string& topic, std::chrono::milliseconds timeout, int qos) {
    const int mid = session_.subscribe(topic, qos);
    if (mid < 0) return false;
    loop_.run_until([&] { return last_suback_mid_ == mid; }, timeout);
    return last_suback_mid_ == mid && !last_granted_.empty() && last_granted_.front() < 0x80;
}

bool MqttTestClient::publish(const std::string& topic, ByteSpan payload, std::chrono::milliseconds timeout, int qos, bool retain) {
    const int mid = session_.publish(topic, payload, qos, retain);
    if (mid < 0) return false;
    loop_.run_until([&] { return last_puback_mid_ == mid; }, timeout);
    return last_puback_mid_ == mid;
}

bool MqttTestClient::publish(const std::string& topic, const std::string& payload, std::chrono::milliseconds timeout, int qos,
                             bool retain) {
    return publish(topic, ByteSpan(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()), timeout, qos, retain);
}

std::optional<MqttMessage> MqttTestClient::wait_message(const std::function<bool(const MqttMessage&)>& match,
                                                        std::chrono::milliseconds timeout) {
    std::optional<MqttMessage> found;
    const auto take = [&] {
        for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
            if (match(*it)) {
                found = std::move(*it);
                inbox_.erase(it);
                return true;
            }
        }
        return false;
    };
    if (take()) return found;
    loop_.run_until(take, timeout);
    return found;
}

std::optional<MqttMessage> MqttTestClient::wait_message(const std::string& topic, std::chrono::milliseconds timeout) {
    return wait_message([&](const MqttMessage& m) { return m.topic == topic; }, timeout);
}

bool MqttTestClient::wait_disconnect(std::chrono::milliseconds timeout) {
    const int before = disconnects_;
    if (!session_.connected()) return true;
    loop_.run_until([&] { return disconnects_ > before; }, timeout);
    return disconnects_ > before;
}

void MqttTestClient::run_for(std::chrono::milliseconds duration) {
    loop_.run_until([] { return false; }, duration);
}

void MqttTestClient::disconnect() {
    session_.disconnect();
}

}  // namespace bluetti::systest
