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

#include "bluetti/cloud/account.hpp"
#include "bluetti/cloud/cloud_link.hpp"
#include "bluetti/cloud/http_client.hpp"
#include "bluetti/cloud/tls.hpp"
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
    std::unique_ptr<ha::CounterGuard> counters_;
    std::unique_ptr<ha::LocalSession> local_;
    std::unique_ptr<cloud::HttpClient> http_;
    std::unique_ptr<cloud::AccountClient> account_;
    std::optional<cloud::AccountSession> session_;
    std::unique_ptr<cloud::TlsContext> tls_;
    cloud::TlsOptions tls_options_;
    std::unique_ptr<cloud::CloudLink> link_;
    // serial -> the station's channel; declared before stations_, so it outlives them.
    std::map<std::string, std::unique_ptr<cloud::DeviceChannel>> channels_;
    std::map<std::string, std::unique_ptr<bridge::Station>> stations_;
    std::map<std::string, std::string> conn_secrets_;                    // serial -> iotConnSecret
    std::map<std::string, std::pair<std::string, std::string>> topics_;  // serial -> request, response topic
    std::map<std::string, std::uint64_t> saved_key_versions_;            // serial -> present_keys_version() in stations.json
    bridge::PollScheduler scheduler_;
    EventLoop::TimerId poll_timer_ = 0, account_timer_ = 0, watchdog_timer_ = 0;
    std::chrono::milliseconds watchdog_period_{0};  // half of systemd's WATCHDOG_USEC; 0 = no watchdog
    std::unique_ptr<SaveSchedule> save_schedule_;   // counters.json and stations.json (state_save_interval)
    RepeatedFailure stations_write_failures_;
    int signal_fd_ = -1;
    int exit_code_ = 0;
    bool ready_sent_ = false;
    bool fatal_ = false;  // fatal() ran: the exit code is set, the loop must not (re)start
    int account_failures_ = 0;
    int token_failures_ = 0;        // token renewals failed in a row
    int certificate_renewals_ = 0;  // certificate downloads since the link was last up
    bool renewal_in_flight_ = false;
    std::chrono::steady_clock::time_point next_renewal_allowed_{};
    std::string tls_error_;  // why the last make_tls() failed
    std::string cloud_status_ = "starting";

    bool load_data();
    void schedule_token_refresh();  // after every login or renewal
    void refresh_token();
    void start_local();
    void start_cloud();
    void stop_cloud();
    void open_account();
    void account_ready(cloud::AccountSession session);
    void certificate_ready();
    bool make_tls(const std::string& broker, Bytes pkcs12, const std::string& password);  // into tls_
    void build_link(const std::string& broker);
    void renew_certificate();
    void fatal(const std::string& message);  // logs, stops the loop, exit code 1
    void add_station(const std::string& serial, const std::string& model, const std::string& sub_sn, const std::string& topic_model,
                     const DeviceConfig* device);
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
