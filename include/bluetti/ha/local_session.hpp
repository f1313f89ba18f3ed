// LocalSession: the bridge's session with the user's MQTT broker (ha-discovery.md §8, §10–12).
// Connects with the will `offline` on <base>/bridge/availability, publishes `online`, subscribes to
// Home Assistant's birth topic and to the command topics, and re-sends everything it owns on every
// (re)connect and on HA's `online` (configs at once, debounced to once per 30 s; states after a
// delay, so HA has subscribed first). It remembers every retained message it published, so a
// broker without persistence is refilled. At start-up it lists our retained discovery configs and
// clears those the current configuration no longer produces.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bluetti/cloud/mqtt_session.hpp"
#include "bluetti/event_loop.hpp"
#include "bluetti/ha/discovery.hpp"

namespace bluetti::ha {

struct LocalOptions {
    std::string host = "127.0.0.1";
    int port = 1883;
    bool tls = false;
    std::string ca_file, cert_file, key_file;
    std::string username, password;
    std::string client_id = "bluetti-bridge";
    std::string base = "bluetti";
    std::string prefix = "homeassistant";
    std::vector<std::string> status_topics{"homeassistant/status"};
    std::chrono::milliseconds state_delay{5000};
    std::chrono::milliseconds scan_window{2000};  // how long retained configs are collected at start
    std::chrono::milliseconds reconnect_initial{1000};
    std::chrono::milliseconds reconnect_max{60000};
};

class LocalSession {
public:
    LocalSession(EventLoop& loop, LocalOptions options);
    ~LocalSession();

    void start();
    // Publishes `offline` on the bridge topic (the will is not sent on a clean disconnect), then disconnects.
    void stop();
    bool connected() const { return session_.connected(); }
    bool ever_connected() const { return ever_connected_; }

    // Retained messages owned by `owner` (a serial or "bridge"): replaces the owner's previous set,
    // publishes what changed, clears (empty retained) configs it no longer has.
    void set_discovery(const std::string& owner, const std::vector<Message>& messages);
    void remove_owner(const std::string& owner);  // clears the owner's configs
    // Retained states and availability: remembered and re-sent after a reconnect or a birth.
    // Unchanged payloads are not re-sent unless `force` (the heartbeat).
    void publish_retained(const std::string& topic, const std::string& payload, bool force = false);
    // Clears our retained configs seen at start-up that no topic in `keep` produces; call it once the
    // device list is final (never after a failed cloud device list).
    void cleanup(const std::set<std::string>& keep);

    // Commands published by Home Assistant on <base>/<serial>/set/<key> (retained ones are dropped).
    void on_command(std::function<void(const std::string& serial, const std::string& key, const std::string& payload)> handler) {
        command_handler_ = std::move(handler);
    }
    void on_connected(std::function<void()> handler) { connected_handler_ = std::move(handler); }
    std::string bridge_availability_topic() const { return options_.base + "/bridge/availability"; }

private:
    EventLoop& loop_;
    LocalOptions options_;
    cloud::MqttSession session_;
    bool stopping_ = false;
    bool ever_connected_ = false;
    int failures_ = 0;
    EventLoop::TimerId retry_timer_ = 0, states_timer_ = 0, scan_timer_ = 0, birth_timer_ = 0;
    std::map<std::string, std::map<std::string, std::string>> discovery_;  // owner -> topic -> payload
    std::map<std::string, std::string> retained_;                          // topic -> payload
    std::set<std::string> seen_configs_;                                   // our retained configs found on the broker at start-up
    bool scan_done_ = false;
    std::optional<std::set<std::string>> pending_cleanup_;
    EventLoop::Clock::time_point last_birth_burst_{};
    std::function<void(const std::string&, const std::string&, const std::string&)> command_handler_;
    std::function<void()> connected_handler_;

    void connect();
    void on_connect();
    void on_message(const std::string& topic, ByteSpan payload, bool retained);
    void publish_all_configs();
    void publish_all_retained();
    void schedule_reconnect(const std::string& why);
    void run_cleanup();
};

}  // namespace bluetti::ha
