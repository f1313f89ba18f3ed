// LocalSession: the bridge's session with the user's MQTT broker (docs/home-assistant.md §8, §10–12).
// Connects with the will `offline` on <base>/bridge/availability, publishes `online`, subscribes to
// Home Assistant's birth topic and to the command topics, and re-sends everything it owns on every
// (re)connect and on HA's `online` (configs at once, debounced to once per 30 s; states after a
// delay, so HA has subscribed first). It remembers every retained state it published, so a broker
// without persistence is refilled. At start-up it lists our retained discovery configs and clears
// those the current configuration no longer produces (only this instance's: ha::published_by), and
// hands our retained states to whoever needs the last run's values (the counter guard).
//
// Discovery configs are the bulk of what the bridge sends (tens of kB per device), so they are not
// kept: each owner registers a source that builds them, and only a 64-bit fingerprint per topic is
// remembered to send nothing that did not change. Owners whose configs may have changed wait in a
// queue, drained on the next loop pass with at most `config_window` configs in flight (QoS 1, not
// yet acknowledged): a thousand devices announcing at once neither flood Home Assistant nor pile
// up megabytes in libmosquitto's queue (docs/home-assistant.md §12), and several changes of one device
// in a burst coalesce into one config.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/event_loop.hpp"
#include "bluetti/ha/discovery.hpp"
#include "bluetti/ha/state_publisher.hpp"
#include "bluetti/mqtt/session.hpp"

namespace bluetti::ha {

struct CommandTopic {
    std::string serial;
    std::string key;
};
// <base>/<serial>/set/<key> (serial and key single, non-empty levels) -> serial and key; nullopt
// for any other topic.
std::optional<CommandTopic> parse_command_topic(std::string_view base, std::string_view topic);

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
    std::size_t config_window = 16;  // discovery configs in flight (sent, not yet acknowledged)
};

class LocalSession : public StatePublisher {
public:
    LocalSession(EventLoop& loop, LocalOptions options);
    ~LocalSession() override;

    void start();
    // Publishes `offline` on the bridge topic (the will is not sent on a clean disconnect), then disconnects.
    void stop();
    bool connected() const { return session_.connected(); }
    bool ever_connected() const { return ever_connected_; }

    // The discovery configs of `owner` (a serial or "bridge") are what `source` builds. Registers or
    // replaces the source and queues the owner: once drained, configs that changed are published,
    // configs the owner no longer has are cleared (empty retained); with `force`, all are re-sent.
    // `source` is called from the event loop until forget_source() or remove_owner().
    void set_discovery(const std::string& owner, DiscoverySource source, bool force = false) override;
    // The source is going away (its station is being rebuilt): keep its configs, call it no more.
    void forget_source(const std::string& owner) override;
    void remove_owner(const std::string& owner);  // clears the owner's configs
    // Retained states and availability: remembered and re-sent after a reconnect or a birth.
    // Unchanged payloads are not re-sent unless `force` (the heartbeat).
    void publish_retained(const std::string& topic, const std::string& payload, bool force = false) override;
    // Clears our retained configs seen at start-up that no topic in `keep` produces; call it once the
    // device list is final (never after a failed cloud device list).
    void cleanup(const std::set<std::string>& keep);

    // Commands published by Home Assistant on <base>/<serial>/set/<key> (retained ones are dropped).
    // The payload is the message as received, of any size and bytes: the handler bounds and checks it.
    void on_command(std::function<void(const std::string& serial, const std::string& key, std::string_view payload)> handler) {
        command_handler_ = std::move(handler);
    }
    void on_connected(std::function<void()> handler) { connected_handler_ = std::move(handler); }
    // The retained states of ours found at start-up (<base>/<serial>/<name>, during the scan of
    // the first connection): what the last run published last, for the counters' starting points
    // (counter_guard.hpp). Called with the serial and the payload, before our own are re-sent.
    void on_retained_state(std::function<void(const std::string& serial, const std::string& payload)> handler) {
        retained_state_handler_ = std::move(handler);
    }
    std::string bridge_availability_topic() const { return options_.base + "/bridge/availability"; }

private:
    EventLoop& loop_;
    LocalOptions options_;
    DiscoveryOptions instance_;  // what identifies our configs among others on the broker
    mqtt::Session session_;
    bool stopping_ = false;
    bool ever_connected_ = false;
    int failures_ = 0;
    EventLoop::TimerId retry_timer_ = 0, states_timer_ = 0, scan_timer_ = 0, birth_timer_ = 0, drain_timer_ = 0;
    struct OwnerConfigs {
        DiscoverySource source;                     // empty: forgotten (kept until re-registered)
        std::map<std::string, std::uint64_t> sent;  // topic -> fnv1a64 of the payload published
        bool queued = false, force = false;
    };
    std::map<std::string, OwnerConfigs> discovery_;
    std::deque<std::string> config_queue_;         // owners to (re)publish, in order
    std::set<int> configs_in_flight_;              // message ids of configs not yet acknowledged
    std::map<std::string, std::string> retained_;  // topic -> payload
    std::set<std::string> seen_configs_;           // our retained configs found on the broker at start-up
    bool scan_done_ = false;
    std::optional<std::set<std::string>> pending_cleanup_;
    EventLoop::Clock::time_point last_birth_burst_{};
    std::function<void(const std::string&, const std::string&, std::string_view)> command_handler_;
    std::function<void()> connected_handler_;
    std::function<void(const std::string&, const std::string&)> retained_state_handler_;

    void connect();
    void on_connect();
    void on_message(const std::string& topic, ByteSpan payload, bool retained);
    void publish_all_configs();
    void queue_owner(const std::string& owner, bool force);
    void schedule_drain();
    void drain_configs();
    void publish_owner(const std::string& owner, OwnerConfigs& configs);
    void publish_all_retained();
    void schedule_reconnect(const std::string& why);
    void run_cleanup();
};

}  // namespace bluetti::ha
