#include "daemon.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../util/bounded_file.hpp"
#include "../util/state_file.hpp"
#include "bluetti/log.hpp"
#include "bluetti/secure_clear.hpp"
#include "bluetti/text.hpp"
#include "exit_status.hpp"
#include "profile_dirs.hpp"
#include "state_dir.hpp"

namespace bluetti::app {

using namespace std::chrono;

namespace {
constexpr const char* kVersion = "0.1.0";

// The configuration's passwords, once a Config is done with (the daemon's at exit, a reload's copy).
void wipe_secrets(Config& c) {
    for (std::string* secret : {&c.cloud.password, &c.cloud.certificate_password, &c.cloud.mqtt_password, &c.homeassistant.password})
        secure_clear(*secret);
}

// Wipes a reloaded configuration's secrets however reload() returns.
class SecretsWiper {
public:
    explicit SecretsWiper(Config& config) : config_(config) {}
    ~SecretsWiper() { wipe_secrets(config_); }
    SecretsWiper(const SecretsWiper&) = delete;
    SecretsWiper& operator=(const SecretsWiper&) = delete;

private:
    Config& config_;
};

}  // namespace

Result<Ok, std::string> disable_core_dumps() {
    // The process holds the account password, the token and the client key: no core file, no
    // ptrace by other users, no readable /proc/<pid>/mem, whatever the unit or the shell set.
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return fail(std::string("prctl(PR_SET_DUMPABLE): ") + std::strerror(errno));
    const rlimit none{0, 0};
    if (::setrlimit(RLIMIT_CORE, &none) != 0) return fail(std::string("setrlimit(RLIMIT_CORE): ") + std::strerror(errno));
    return Ok{};
}

Daemon::Daemon(Config config) : config_(std::move(config)) {}

Daemon::~Daemon() {
    if (signal_fd_ >= 0) ::close(signal_fd_);
    wipe_secrets(config_);
}

bool Daemon::load_data() {
    auto profiles = profile::ProfileSet::builtin();
    auto schemas = schema::SchemaRegistry::builtin();
    if (!profiles || !schemas) {
        log::get("config")->critical("built-in data: {}", !profiles ? profiles.error().message : schemas.error().message);
        return false;
    }
    profiles_ = std::move(*profiles);
    if (auto error = load_profile_dirs(profiles_, config_.profile_dirs)) {
        log::get("config")->critical("{}", error->message);
        return false;
    }
    base_schemas_ = std::move(*schemas);
    for (const auto& dir : config_.schema_dirs) {
        if (auto error = base_schemas_.load_directory(dir)) {
            log::get("config")->critical("{}", error->message);
            return false;
        }
    }
    return true;
}

int Daemon::run() {
    if (auto hardened = disable_core_dumps(); !hardened) log::get("app")->warn("core dumps stay possible: {}", hardened.error());
    if (!load_data()) return kExitConfig;
    discovery_.prefix = config_.homeassistant.discovery_prefix;
    discovery_.base = config_.homeassistant.base_topic;
    discovery_.mode = config_.homeassistant.discovery;
    discovery_.bridge_id = config_.homeassistant.client_id;
    discovery_.version = kVersion;
    // Made 0700 first (a check that created it would give it the umask's bits); an unusable state
    // directory is then refused here, at its key, rather than failing at every save.
    const auto made = util::make_state_dir(config_.state_dir);
    if (auto problem = check_state_dir(config_, false)) {
        log::get("config")->critical("{}", *problem);
        return kExitConfig;
    }
    if (!made) log::get("app")->error("state directory: {}", made.error());
    if (config_.cloud.tls_insecure)
        log::get("cloud")->warn(
            "cloud.tls_insecure is set: neither the cloud broker's nor the REST gateway's certificate is verified, and plain "
            "http:// is allowed for cloud.api; anyone on the network path can read the login and the token");
    counters_ = std::make_unique<ha::CounterStore>(std::filesystem::path(config_.state_dir) / "counters.json");

    // Signals become readable events on the loop (docs/style.md #8).
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    loop_.watch(signal_fd_, POLLIN, [this](short) { on_signal(); });

    std::uint64_t watchdog_usec = 0;
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
        watchdog_period_ = duration_cast<milliseconds>(microseconds(watchdog_usec / 2));
        watchdog_timer_ = loop_.after(watchdog_period_, [this] { kick_watchdog(); });
    }
    save_schedule_ = std::make_unique<SaveSchedule>(loop_, config_.state_save_interval, [this] { save_state(); });

    start_local();
    start_cloud();
    if (fatal_) return exit_code_;  // a fatal error at start-up stopped the loop before it ran
    // A callback that threw has been logged by the loop: exit non-zero, systemd restarts us. The
    // state is not saved (it may be half-updated); the counters reconcile at the next start.
    if (!loop_.run()) return kExitSoftware;
    return exit_code_;
}

void Daemon::start_local() {
    const auto& h = config_.homeassistant;
    ha::LocalOptions o;
    o.host = h.host();
    o.port = h.port();
    o.tls = h.tls();
    o.ca_file = h.ca_file;
    o.cert_file = h.cert_file;
    o.key_file = h.key_file;
    o.username = h.username;
    o.password = h.password;
    o.client_id = h.client_id;
    o.base = h.base_topic;
    o.prefix = h.discovery_prefix;
    o.status_topics = {h.status_topic};
    if (h.discovery_prefix + "/status" != h.status_topic) o.status_topics.push_back(h.discovery_prefix + "/status");
    o.state_delay = h.state_delay;
    local_ = std::make_unique<ha::LocalSession>(loop_, o);
    // What the last run published last: the counters start from it when counters.json is older
    // (it is written at most every state_save_interval; counter_guard.hpp, "Across a restart").
    local_->on_retained_state([this](const std::string& serial, const std::string& payload) {
        const auto state = nlohmann::json::parse(payload, nullptr, false);
        if (!state.is_object()) return;
        for (const auto& [key, value] : state.items())
            if (value.is_number()) counters_->restore_published(serial, key, value.get<double>());
    });
    local_->on_connected([this] {
        if (!ready_sent_) {
            ready_sent_ = true;
            sd_notify(0, "READY=1");
            log::get("app")->info("ready: configuration loaded, local broker connected");
        }
        local_->set_discovery("bridge", [this] { return ha::bridge_discovery(discovery_); });
        for (auto& [serial, station] : stations_) station->announce(true);
        publish_bridge_state();
    });
    local_->on_command([this](const std::string& serial, const std::string& key, std::string_view payload) {
        auto it = stations_.find(serial);
        if (it == stations_.end()) {
            log::get("ha")->warn("command for unknown device {} ({}) ignored", text::echo(serial), text::echo(key));
            return;
        }
        it->second->command(key, payload);
    });
    local_->start();
}

// systemd's watchdog, kicked from the loop at half its period: a loop that stalls stops the kicks.
// A member, not a lambda that names itself: the next kick must not refer to a local of run().
void Daemon::kick_watchdog() {
    sd_notify(0, "WATCHDOG=1");
    watchdog_timer_ = loop_.after(watchdog_period_, [this] { kick_watchdog(); });
}

void Daemon::set_status(const std::string& status) {
    cloud_status_ = status;
    std::size_t online = 0;
    for (const auto& [serial, s] : stations_) online += s->online();
    const std::string text =
        "STATUS=cloud: " + status + "; " + std::to_string(online) + "/" + std::to_string(stations_.size()) + " devices online";
    sd_notify(0, text.c_str());
}

void Daemon::publish_bridge_state() {
    if (!local_) return;
    nlohmann::ordered_json j;
    const cloud::CloudLink::Status none;
    const auto& link = connection_ ? connection_->link_status() : none;
    j["cloud_connected"] = link.state == cloud::CloudLink::State::up ? "ON" : "OFF";
    j["reconnects"] = link.connects > 0 ? link.connects - 1 : 0;
    j["session_conflicts"] = link.conflicts;
    j["version"] = kVersion;
    local_->publish_retained(config_.homeassistant.base_topic + "/bridge/state", j.dump());
}

void Daemon::start_cloud() {
    cloud::ConnectionOptions o;
    const auto& c = config_.cloud;
    o.broker = c.broker;
    o.ca_file = c.ca_file;
    o.tls_insecure = c.tls_insecure;
    o.tls_security_level = c.tls_security_level;
    o.client_id = c.client_id;
    o.reconnect_initial = c.reconnect_delay;
    o.request_topic = c.request_topic;
    o.response_topic = c.response_topic;
    if (c.certificate_mode()) {
        // The user's own bundle: if it cannot be used nothing will change until they replace it, so
        // stop with the error (systemd shows it) instead of staying up doing nothing.
        auto p12 = util::read_bounded_file(c.certificate, util::kMaxDataFileBytes);
        if (!p12) return fatal("cannot read cloud.certificate " + c.certificate + ": " + p12.error().message);
        o.pkcs12.assign(p12->begin(), p12->end());
        secure_clear(*p12);
        o.pkcs12_password = c.certificate_password;
        o.mqtt_username = c.mqtt_username;
        o.mqtt_password = c.mqtt_password;
    } else {
        o.account.api = c.api;
        o.account.email = c.email;
        o.account.password = c.password;
        o.account.state_dir = config_.state_dir;
    }
    connection_ = std::make_unique<cloud::Connection>(loop_, std::move(o));
    connection_->on_status_text([this](const std::string& text) { set_status(text); });
    connection_->on_link_status([this](const cloud::CloudLink::Status& s) { link_changed(s); });
    connection_->open([this](Result<Ok, cloud::ConnectionError> opened) {
        if (opened) return cloud_opened();
        if (opened.error().code == cloud::ConnectionErrc::bad_credentials) return;  // SIGHUP after fixing the config tries again
        if (config_.cloud.certificate_mode() && opened.error().code == cloud::ConnectionErrc::certificate)
            return fatal("cloud.certificate " + config_.cloud.certificate + " is unusable: " + opened.error().message);
        fatal(opened.error().message);
    });
}

const DeviceConfig* Daemon::device_config(const std::string& serial, const std::string& sub_sn) const {
    for (const auto& d : config_.devices)
        if (d.serial == serial || (!sub_sn.empty() && d.serial == sub_sn)) return &d;
    return nullptr;
}

// The session is open: a station per device (the account's, or the configured ones in
// certificate mode), then the link.
void Daemon::cloud_opened() {
    if (connection_->account_mode()) {
        for (const auto& d : connection_->account_devices()) {
            const DeviceConfig* dc = device_config(d.sn, d.sub_sn);
            if (!config_.devices.empty() && !dc) continue;
            cloud::DeviceRecord record = d;
            if (dc && !dc->sub_sn.empty()) record.sub_sn = dc->sub_sn;
            add_station(record, dc && !dc->model.empty() ? dc->model : d.model, d.model, dc);
        }
        for (const auto& d : config_.devices)
            if (!stations_.count(d.serial)) log::get("config")->error("{}: device {} is not on the account", d.where, d.serial);
    } else {
        for (const auto& d : config_.devices) {
            const profile::Profile& p = profiles_.find_or_generic(d.model);
            cloud::DeviceRecord record;
            record.sn = d.serial;
            record.sub_sn = d.sub_sn;
            add_station(record, d.model, p.cloud_model.empty() ? p.model : p.cloud_model, &d);
        }
    }
    connection_->start();
    clean_up_discovery();
}

// The device list is known: stale configs of earlier runs can go (docs/home-assistant.md §11).
void Daemon::clean_up_discovery() {
    std::set<std::string> keep;
    for (const auto& [serial, station] : stations_)
        for (const auto& m : station->discovery_messages()) keep.insert(m.topic);
    for (const auto& m : ha::bridge_discovery(discovery_)) keep.insert(m.topic);
    local_->cleanup(keep);
}

void Daemon::fatal(const std::string& message) {
    log::get("cloud")->critical("{}; stopping", message);
    sd_notifyf(0, "STATUS=%s\nERRNO=%d", message.c_str(), EINVAL);
    save_state();
    if (local_) local_->stop();
    exit_code_ = 1;
    fatal_ = true;
    loop_.stop();
}

void Daemon::link_changed(const cloud::CloudLink::Status& s) {
    const bool up = s.state == cloud::CloudLink::State::up;
    for (auto& [serial, station] : stations_) station->link_changed(up);
    switch (s.state) {
        case cloud::CloudLink::State::up:
            set_status("connected");
            break;
        case cloud::CloudLink::State::connecting:
            set_status("connecting");
            break;
        case cloud::CloudLink::State::waiting:
            set_status(std::string(cloud::to_string(s.last_failure)) + ", retrying in " + std::to_string(s.next_retry.count() / 1000) +
                       " s");
            break;
        case cloud::CloudLink::State::stopped:
            set_status("stopped");
            break;
    }
    publish_bridge_state();
    schedule_polls();
}

void Daemon::add_station(const cloud::DeviceRecord& record, const std::string& model, const std::string& topic_model,
                         const DeviceConfig* device) {
    const std::string& serial = record.sn;
    const profile::Profile* p = profiles_.find(model);
    if (!p) {
        log::get("config")->warn("{}: no profile for model '{}'; using the generic V2 profile", serial, text::echo(model));
        p = &profiles_.find_or_generic(model);
    }
    auto& shared = profile_schemas_[p];
    if (!shared) {
        auto schemas = profile::apply_profile(base_schemas_, *p);
        if (!schemas) {
            profile_schemas_.erase(p);
            log::get("config")->error("{}: {}", p->source, schemas.error().message);
            return;
        }
        shared = std::make_shared<const schema::SchemaRegistry>(std::move(*schemas));
    }
    bridge::StationSetup s;
    s.serial = serial;
    s.model_id = topic_model;
    s.profile = p;
    s.schemas = shared;
    s.control_keys = device && device->control_keys ? *device->control_keys : p->controls;
    if (device) {
        s.name = device->name;
        s.poll = device->poll;
        s.exclude.insert(device->exclude.begin(), device->exclude.end());
        s.controls = device->controls;
    }
    cloud::ChannelOptions c;
    c.request_timeout = config_.cloud.request_timeout;
    c.retry = cloud::RetryPolicy{config_.cloud.retry.attempts, config_.cloud.retry.initial_delay, config_.cloud.retry.factor,
                                 config_.cloud.retry.max_delay};
    // Where to look for it (docs/protocol.md §7.3); its log lines stay the bridge's.
    cloud::LocatorOptions where;
    where.envelope = p->envelope;
    where.slave = p->slave;
    where.probe_slaves = p->probe_slaves;
    if (device && device->slave) where.configured_slave = static_cast<std::uint8_t>(*device->slave);
    where.has_packs = p->has_block(cloud::kNodeInfoBlock);
    where.log_area = "bridge";
    auto added = connection_->add_device(record, topic_model, *shared, c, std::move(where));
    if (!added) {
        log::get("config")->error("{}: {}", serial, added.error());
        return;
    }
    auto station = std::make_unique<bridge::Station>(loop_, std::move(s), *added->locator, *local_, *counters_, scheduler_, discovery_);
    bridge::Station* raw = station.get();
    station->on_online_changed([this] { set_status(cloud_status_); });
    station->on_packs_added([this, raw, p] {
        for (const auto& g : p->groups)
            if (g.per_pack) raw->schedule().request_now(g.name, loop_.now());
    });
    stations_[serial] = std::move(station);
    station_set_changed_ = true;
    load_present_keys();
    raw->announce(true);
    log::get("bridge")->info("bridging {} ({}, profile {}) on {}", serial, topic_model, raw->setup().profile->model,
                             connection_->response_topic(serial));
}

void Daemon::schedule_polls() {
    if (poll_timer_) loop_.cancel(poll_timer_);
    poll_timer_ = 0;
    if (!connection_ || !connection_->up()) return;
    const auto now = loop_.now();
    while (auto due = scheduler_.next(now, [this](const std::string& serial) {
        auto it = stations_.find(serial);
        return it == stations_.end() || it->second->busy() || !connection_->device_ready(serial);
    })) {
        stations_.at(due->schedule->device())->poll(due->group, [this] { schedule_polls(); });
    }
    if (auto next = scheduler_.next_due()) {
        const auto wait = std::max(milliseconds(50), ceil<milliseconds>(*next - now));
        poll_timer_ = loop_.after(wait, [this] {
            poll_timer_ = 0;
            schedule_polls();
        });
    }
}

void Daemon::on_signal() {
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGHUP)
            reload();
        else
            shutdown();
    }
}

void Daemon::shutdown() {
    sd_notify(0, "STOPPING=1");
    log::get("app")->info("stopping");
    if (save_schedule_) save_schedule_->save_now();
    if (connection_) connection_->stop();
    if (local_) local_->stop();
    exit_code_ = 0;
    loop_.stop();
}

void Daemon::reload() {
    log::get("config")->info("reloading {}", config_.file);
    if (save_schedule_) save_schedule_->save_now();  // a reload may be followed by a restart: keep the state
    auto next = load_config(config_.file);
    std::optional<SecretsWiper> wiper;
    if (next) wiper.emplace(*next);
    if (!next) {
        std::istringstream lines(next.error());
        for (std::string line; std::getline(lines, line);) log::get("config")->error("{}", line);
        log::get("config")->error("the new configuration is invalid; keeping the running one");
        return;
    }
    log::set_level(next->log.level);
    // Devices: intervals, names, exclusions and controls change in place; the sessions stay.
    for (auto& [serial, station] : stations_) {
        const DeviceConfig* d = nullptr;
        for (const auto& dc : next->devices)
            if (dc.serial == serial) d = &dc;
        if (!d) continue;
        bridge::StationSetup s = station->setup();
        s.name = d->name;
        s.poll = d->poll;
        s.exclude = std::set<std::string>(d->exclude.begin(), d->exclude.end());
        s.controls = d->controls;
        s.control_keys = d->control_keys ? *d->control_keys : s.profile->controls;
        station->reconfigure(s);  // its poll schedule's intervals too
    }
    const bool devices_changed = [&] {
        std::set<std::string> a, b;
        for (const auto& d : config_.devices) a.insert(d.serial);
        for (const auto& d : next->devices) b.insert(d.serial);
        return a != b;
    }();
    const bool cloud_changed = next->cloud.email != config_.cloud.email || next->cloud.password != config_.cloud.password ||
                               next->cloud.certificate != config_.cloud.certificate || next->cloud.broker != config_.cloud.broker ||
                               next->cloud.api != config_.cloud.api;
    config_.log = next->log;
    for (auto& d : config_.devices)
        for (const auto& nd : next->devices)
            if (nd.serial == d.serial) d = nd;
    if (cloud_changed || devices_changed) {
        log::get("config")->info("cloud settings or the device list changed: restarting the cloud session");
        config_.cloud = next->cloud;
        config_.devices = next->devices;
        stop_cloud();
        start_cloud();
    }
    schedule_polls();
}

void Daemon::stop_cloud() {
    if (connection_) connection_->stop();
    for (auto& [serial, station] : stations_) {
        local_->publish_retained(discovery_.base + "/" + serial + "/availability", "offline");
        bool keep = config_.devices.empty();
        for (const auto& d : config_.devices) keep = keep || d.serial == serial;
        if (!keep) local_->remove_owner(serial);
    }
    stations_.clear();
    station_set_changed_ = true;
    connection_.reset();
}

void Daemon::save_state() {
    if (counters_) counters_->save();
    // The keys seen rarely change after the first polls: rewrite stations.json only when they did
    // (every minute it cost 5% of the CPU at 4,000 devices, and wears an SD card for nothing).
    const bool all_saved =
        std::all_of(stations_.begin(), stations_.end(), [](const auto& entry) { return entry.second->present_keys_saved(); });
    if (all_saved && !station_set_changed_) return;
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [serial, station] : stations_) j[serial] = station->present_keys();
    const auto path = std::filesystem::path(config_.state_dir) / "stations.json";
    if (auto written = util::write_state_file(path, j.dump()); !written) {
        // Tried again at the next save; a partial file never replaces the last good one.
        if (stations_write_failures_.failed())
            log::get("app")->warn("{} (tried again at every save, logged once an hour)", written.error());
        return;
    }
    if (stations_write_failures_.succeeded()) log::get("app")->info("{} written again", path.string());
    for (auto& [serial, station] : stations_) station->mark_present_keys_saved();
    station_set_changed_ = false;
}

void Daemon::load_present_keys() {
    const auto text =
        util::read_bounded_file((std::filesystem::path(config_.state_dir) / "stations.json").string(), util::kMaxDataFileBytes);
    if (!text) return;
    const auto j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_object()) return;
    for (auto& [serial, station] : stations_) {
        if (!station->present_keys().empty() || !j.contains(serial) || !j[serial].is_array()) continue;
        std::set<std::string> keys;
        for (const auto& k : j[serial])
            if (k.is_string() && !station->setup().exclude.count(k.get<std::string>())) keys.insert(k.get<std::string>());
        station->restore_present_keys(std::move(keys));
    }
}

}  // namespace bluetti::app
