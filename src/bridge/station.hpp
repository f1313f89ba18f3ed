// Station: one power station from poll to publish. It drives the device's DeviceChannel (the layer
// below decodes; its owner keeps it alive longer than the station) at the slave and envelope its
// DeviceLocator says (which probes and learns the battery packs), runs poll groups block by
// block, keeps availability (online after the first good reply; offline after 3 failed polls in a
// row, 2 core intervals and 2 request timeouts without data, or while the cloud session is down),
// diagnostics, the set of keys seen (which decides its entities), and publishes retained block
// states through a StatePublisher (the LocalSession). It never parses bytes. Its clock is a
// Scheduler, so tests run it on a manual one. It owns what is per device of the bridge's shared
// parts: its energy counters' guard (taken from the CounterStore) and its poll schedule (in the
// PollScheduler's queue while the station lives).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bluetti/cloud/device_channel.hpp"
#include "bluetti/cloud/device_locator.hpp"
#include "bluetti/event_loop.hpp"
#include "bluetti/ha/counter_guard.hpp"
#include "bluetti/ha/discovery.hpp"
#include "bluetti/ha/state_publisher.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/registry.hpp"
#include "control_writer.hpp"
#include "poll_scheduler.hpp"

namespace bluetti::bridge {

struct StationSetup {
    std::string serial;    // the `<serial>` of topics and unique_ids
    std::string name;      // Home Assistant device name
    std::string model_id;  // cloud model code
    const profile::Profile* profile = nullptr;
    // With the profile's overrides; one registry shared by every station of the profile (a copy is
    // ~24 kB, a thousand of them most of the daemon's heap).
    std::shared_ptr<const schema::SchemaRegistry> schemas;
    std::map<std::string, std::chrono::milliseconds> poll;  // interval overrides
    std::set<std::string> exclude;
    bool controls = true;                   // false: no control entities and nothing writable
    std::vector<std::string> control_keys;  // the enabled controls: the profile's, or the config's list
};

class Station {
public:
    // Configures the locator's channel for this device (handlers, writable registers); where the
    // device answers and its packs are the locator's, which its owner keeps as long as the channel.
    // Its schedule joins `polls` and its counters come from `counters` until it is destroyed.
    Station(Scheduler& scheduler, StationSetup setup, cloud::DeviceLocator& locator, ha::StatePublisher& publisher,
            ha::CounterStore& counters, PollScheduler& polls, const ha::DiscoveryOptions& discovery);
    // Detaches from the channel: its handlers are removed and its requests dropped uncalled.
    ~Station();
    Station(const Station&) = delete;
    Station& operator=(const Station&) = delete;

    const std::string& serial() const { return setup_.serial; }
    const StationSetup& setup() const { return setup_; }
    cloud::DeviceChannel& channel() { return channel_; }
    bool busy() const { return polling_ || channel_.busy(); }
    // A command from <base>/<serial>/set/<key>: validated, then written per docs/protocol.md §8.
    void command(const std::string& key, std::string_view payload);
    const ControlWriter& controls() const { return *writer_; }
    bool online() const { return online_; }

    // The poll groups with their effective intervals.
    std::vector<std::pair<const profile::PollGroup*, std::chrono::milliseconds>> groups() const;
    // The device's place in the PollScheduler: pushes refresh it, poll() ends the poll it handed out.
    PollSchedule& schedule() { return schedule_; }
    // Runs one group's reads; `done` runs when they finished (whatever the outcome), after the
    // schedule learnt that the group was polled.
    void poll(const std::string& group, std::function<void()> done);
    // The cloud session went down or came back.
    void link_changed(bool up);
    // Queues discovery with the local session (sent when it changed, all of it with `force`) and
    // publishes availability.
    void announce(bool force);
    std::vector<ha::Message> discovery_messages() const;
    // Keys seen present, restored from the state directory across restarts.
    const std::set<std::string>& present_keys() const { return present_keys_; }
    // Counts the changes of present_keys().
    std::uint64_t present_keys_version() const { return present_keys_version_; }
    // Whether the state file holds present_keys() as they are now: the daemon rewrites it only
    // when a station's keys changed since it was last written.
    bool present_keys_saved() const { return saved_keys_version_ == present_keys_version_; }
    void mark_present_keys_saved() { saved_keys_version_ = present_keys_version_; }
    void restore_present_keys(std::set<std::string> keys) {
        present_keys_ = std::move(keys);
        ++present_keys_version_;
    }
    // Called when the station goes online or offline (the daemon's STATUS= line counts them).
    void on_online_changed(std::function<void()> handler) { online_handler_ = std::move(handler); }
    // Called when NODE_INFO lists a battery pack the station did not have: its per-pack groups
    // are worth reading now, not at their next interval (which may be minutes away).
    void on_packs_added(std::function<void()> handler) { locator_.on_packs_added(std::move(handler)); }
    // Apply changed names, intervals, exclusions or controls (SIGHUP) without touching the session.
    void reconfigure(const StationSetup& setup);

private:
    Scheduler& scheduler_;
    StationSetup setup_;
    // Not owned: every callback the station gives them captures `this`, so ~Station() drops them
    // (DeviceChannel::cancel_all) before any member is destroyed.
    cloud::DeviceLocator& locator_;
    cloud::DeviceChannel& channel_;
    ha::StatePublisher& publisher_;
    ha::CounterGuard counters_;
    PollSchedule schedule_;
    ha::DiscoveryOptions discovery_;
    std::unique_ptr<ControlWriter> writer_;
    std::map<std::string, std::int64_t> control_values_;  // last read of each control
    std::set<std::string> unsupported_controls_;          // read "not supported": never offered
    bool polling_ = false;
    bool online_ = false;
    // Read sizes the device channel shrank after a refusal, as last logged (per block and slave).
    std::map<std::pair<std::uint16_t, std::uint8_t>, std::uint16_t> reduced_sizes_logged_;
    void log_reduced_read_size(std::uint16_t block, std::uint8_t slave, std::uint16_t asked);
    bool link_up_ = false;
    int consecutive_failures_ = 0;
    std::optional<Scheduler::Clock::time_point> last_data_;
    std::set<std::string> present_keys_;
    std::uint64_t present_keys_version_ = 0;
    std::optional<std::uint64_t> saved_keys_version_;  // none: never written
    std::size_t announced_key_count_ = 0;              // present_keys_.size() at the last announce()
    std::string announced_sw_version_;                 // sw_version_ at the last announce()
    std::string sw_version_;
    std::uint64_t polls_ = 0;
    std::string last_seen_iso_;
    // "key=code" of every unknown enum code already logged: once per session, not once per poll.
    std::set<std::string> unknown_codes_logged_;
    std::function<void()> online_handler_;
    Scheduler::TimerId silence_timer_ = 0;
    std::optional<Scheduler::Clock::time_point> last_anomaly_warning_;
    std::uint64_t anomalies_suppressed_ = 0;
    // The pack voltage the cells of block 6300 are checked against: per pack from 6100, else the
    // battery's from block 100 (packs sit in parallel).
    std::map<int, double> pack_voltages_;
    std::optional<double> battery_voltage_;
    std::uint64_t cells_rejected_ = 0;
    bool scale_hint_logged_ = false;
    std::map<std::string, nlohmann::ordered_json> merged_states_;  // per-pack blocks: all packs' keys

    // What one poll's reads came to.
    struct PollTally {
        int ok = 0, failed = 0;
        bool timed_out = false;
    };
    void finish_poll(const PollTally& tally, const std::string& group_name);
    void handle_block(cloud::BlockData data);
    void note_firmware(const schema::DecodedBlock& decoded);
    void note_controls(const schema::DecodedBlock& decoded);
    void publish_state(const schema::DecodedBlock& decoded);
    void apply_controls();
    void reread(const profile::Control& control, std::uint16_t written, std::function<void()> done);
    void set_online(bool online, const std::string& why);
    void publish_diagnostics();
    void log_anomaly(const std::string& text);
    bool cells_consistent(const cloud::BlockData& data);
    void arm_silence_timer();
    std::string state_name(std::uint16_t block) const;
    ha::StationInfo info() const;
    std::chrono::milliseconds core_interval() const;
    std::vector<GroupSchedule> poll_schedule() const;  // groups() as the PollSchedule takes them
};

}  // namespace bluetti::bridge
