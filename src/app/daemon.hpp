// Daemon: the bluetti-bridge process. Wires the configuration to the local session, the cloud
// session (account or certificate mode), one Station per power station and the poll scheduler, all
// on one EventLoop. Signals arrive through a signalfd: SIGTERM/SIGINT stop cleanly (offline
// published, exit 0), SIGHUP reloads the configuration without dropping sessions that did not
// change. systemd: READY=1 once the config is loaded and the local session is up, STATUS= for the
// cloud side, WATCHDOG=1 from the loop.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bluetti/cloud/connection.hpp"
#include "bluetti/event_loop.hpp"
#include "bluetti/ha/counter_guard.hpp"
#include "bluetti/ha/local_session.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/repeated_failure.hpp"
#include "bluetti/schema/registry.hpp"
#include "bridge/poll_scheduler.hpp"
#include "bridge/station.hpp"
#include "config.hpp"
#include "save_schedule.hpp"

namespace bluetti::app {

// PR_SET_DUMPABLE=0 and RLIMIT_CORE=0: no core file (which would hold the secrets) and no ptrace.
Result<Ok, std::string> disable_core_dumps();

class Daemon {
public:
    explicit Daemon(Config config);
    ~Daemon();
    int run();  // the exit code

private:
    EventLoop loop_;
    Config config_;
    profile::ProfileSet profiles_;
    schema::SchemaRegistry base_schemas_;
    // base_schemas_ with each profile's overrides, built once and shared by that profile's stations.
    std::map<const profile::Profile*, std::shared_ptr<const schema::SchemaRegistry>> profile_schemas_;
    ha::DiscoveryOptions discovery_;
    // Shared by the stations, which keep their parts of them: declared before stations_.
    std::unique_ptr<ha::CounterStore> counters_;
    bridge::PollScheduler scheduler_;
    std::unique_ptr<ha::LocalSession> local_;
    // The account, TLS, the link and every device's channel. Declared before stations_: a
    // station uses its channel until it is destroyed.
    std::unique_ptr<cloud::Connection> connection_;
    std::map<std::string, std::unique_ptr<bridge::Station>> stations_;
    bool station_set_changed_ = false;  // a station came or went since stations.json was written
    EventLoop::TimerId poll_timer_ = 0, watchdog_timer_ = 0;
    std::chrono::milliseconds watchdog_period_{0};  // half of systemd's WATCHDOG_USEC; 0 = no watchdog
    std::unique_ptr<SaveSchedule> save_schedule_;   // counters.json and stations.json (state_save_interval)
    RepeatedFailure stations_write_failures_;
    int signal_fd_ = -1;
    int exit_code_ = 0;
    bool ready_sent_ = false;
    bool fatal_ = false;  // fatal() ran: the exit code is set, the loop must not (re)start
    std::string cloud_status_ = "starting";

    bool load_data();
    void start_local();
    void start_cloud();
    void stop_cloud();
    void cloud_opened();
    void link_changed(const cloud::CloudLink::Status& status);
    void fatal(const std::string& message);  // logs, stops the loop, exit code 1
    void add_station(const cloud::DeviceRecord& record, const std::string& model, const std::string& topic_model,
                     const DeviceConfig* device);
    void clean_up_discovery();
    const DeviceConfig* device_config(const std::string& serial, const std::string& sub_sn) const;
    void schedule_polls();
    void on_signal();
    void reload();
    void shutdown();
    void set_status(const std::string& status);
    void kick_watchdog();
    void publish_bridge_state();
    void save_state();
    void load_present_keys();
};

}  // namespace bluetti::app
