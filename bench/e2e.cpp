// bench/e2e: the real bluetti-bridge end to end with 1 … 1000 simulated devices: its CPU per poll
// and per block read, its memory, and whether it keeps to its poll intervals.
//
// Certificates are made once (tests/system/support). Then, for each device count N of --devices,
// everything afresh on 127.0.0.1, in a private temporary directory, as tests/system/fixture.hpp and
// bridge_fixture.hpp set it up (a fresh pair of brokers per step: no retained message of one step
// can make the next one look ready):
//   - a TLS mosquitto requiring client certificates playing the Bluetti cloud, a plain one playing
//     the user's broker, and this program's observer subscribed on both before anything else runs;
//   - bluetti-sim with N EL100V2 (decimal 13-digit serials, so subSn = serial) and its REST
//     stand-in in account mode;
//   - bluetti-bridge, the real binary, with a config listing the same N devices.
// It waits, by observing messages, until every device was polled in every group and has a state on
// the local broker; lets it run --warmup-seconds; then measures over --seconds:
//   - the bridge's CPU (all its threads, /proc/PID/task/*/schedstat in ns) per poll group and per
//     block read, and beside it what the simulator, the brokers and this program spent;
//   - its VmRSS and VmHWM at the end of the step;
//   - polls expected from the intervals against polls done, and how late the latest one started;
//   - the latency of a reply seen on the cloud broker → its state seen on the local one, and beside
//     it a raw hop through the local broker (a probe of our own every 100 ms): the difference is
//     what the bridge adds.
// Not a test: nothing here asserts a time, and it is not registered with ctest.
// docs/performance.md, "End to end (bench_e2e)", has the figures and the command.
//
//   bench_e2e [--devices 1,100,1000] [--seconds 60] [--warmup-seconds 20] [--interval 10]
//             [--json FILE [--label NAME]] [--bridge PATH]
#include <sys/resource.h>
#include <sys/types.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/event_loop.hpp"
#include "bluetti/log.hpp"
#include "bluetti/mqtt/session.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/registry.hpp"
#include "child_process.hpp"
#include "mosquitto.hpp"
#include "net.hpp"
#include "rig.hpp"
#include "temp_dir.hpp"
#include "test_certificates.hpp"

#ifndef BLUETTI_BUILD_TYPE
#define BLUETTI_BUILD_TYPE "unknown"
#endif

namespace {

using namespace bluetti;
using namespace bluetti::systest;
using namespace bluetti::bench;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kRetryWindow = std::chrono::seconds(15);  // a retry comes ≤ 5 s timeout + 2 s backoff later
// A poll still missing at the window's end counts as missed only when overdue by more than this:
// the bridge dates a group's next poll from the group's end, a few ms after the start we see.
constexpr auto kDueSlack = std::chrono::seconds(1);

double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

// ---------------------------------------------------------------------------------------------

struct Options {
    std::vector<std::size_t> devices{1, 100, 1000};
    int seconds = 60;
    int warmup_seconds = 20;
    int interval = 10;                           // core poll interval, s; the other groups keep the profile's
    std::string json_file;                       // also write the figures there (scripts/plot-bench draws them)
    std::string label;                           // names the run in that file ("before", a commit, …)
    std::string bridge = BLUETTI_BRIDGE_BINARY;  // another build's, to compare it with this one
};

Options parse_options(int argc, char** argv) {
    Options o;
    CLI::App app{"bench_e2e: bluetti-bridge end to end against bluetti-sim, CPU and memory per device count (docs/performance.md)"};
    app.add_option("--devices", o.devices, "device counts, one step each")
        ->delimiter(',')
        ->check(CLI::Range(1, 5000))
        ->capture_default_str();
    app.add_option("--seconds", o.seconds, "measured window per step")->check(CLI::Range(1, 86400))->capture_default_str();
    app.add_option("--warmup-seconds", o.warmup_seconds, "run this long after every device is ready, before measuring")
        ->check(CLI::Range(0, 86400))
        ->capture_default_str();
    app.add_option("--interval", o.interval, "core poll interval in seconds")->check(CLI::Range(1, 3600))->capture_default_str();
    app.add_option("--json", o.json_file, "also write every step's figures to this file, as JSON (scripts/plot-bench)");
    app.add_option("--label", o.label, "the run's name in the JSON file (e.g. a commit)");
    app.add_option("--bridge", o.bridge, "the bluetti-bridge binary to measure (another commit's build)")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        std::exit(app.exit(e) == 0 ? 0 : 2);
    }
    return o;
}

// ---------------------------------------------------------------------------------------------
// The poll groups the bridge runs for each device: the EL100V2 profile with --interval for core.

struct GroupPlan {
    std::string name;
    milliseconds interval;
    std::uint16_t first_block;  // a request for it starts a poll of the group
};

struct Plan {
    std::vector<GroupPlan> groups;
    std::map<std::string, std::uint16_t> topic_block;  // state topic name → the block it carries
};

Plan make_plan(int core_seconds) {
    auto profiles = profile::ProfileSet::builtin();
    auto schemas = schema::SchemaRegistry::builtin();
    if (!profiles || !schemas) die("built-in profiles or schemas do not load");
    const profile::Profile* p = profiles->find(kModel);
    if (!p) die(std::string("no profile ") + kModel);
    Plan plan;
    std::map<std::string, int> uses;
    for (const auto& g : p->groups) {
        const auto interval = g.name == "core" ? milliseconds(core_seconds * 1000) : g.interval;
        plan.groups.push_back({g.name, interval, g.blocks.front().block});
        for (const auto& b : g.blocks)
            if (const auto* s = schemas->find(b.block); s && ++uses[s->state_topic] == 1) plan.topic_block[s->state_topic] = b.block;
    }
    for (const auto& [topic, n] : uses)
        if (n > 1) plan.topic_block.erase(topic);  // shared by two blocks: no latency from it
    return plan;
}

// ---------------------------------------------------------------------------------------------
// The observer: one loop, a TLS session on the cloud broker (the bridge's requests on SUB/…, the
// simulator's replies on PUB/…) and a plain one on the local broker (bluetti/#). One loop for both,
// so a reply and the state it becomes are stamped by the same clock in the same pass.
//
// What is counted, and why from the cloud broker:
//   - block reads = replies on PUB/…: not state messages, since the bridge does not re-publish a
//     state whose payload did not change (settings, firmware), and a poll group holds 1–3 blocks;
//   - polls = requests for a group's first block (retries left out): not `polls` of the bridge's
//     retained bluetti/<serial>/diagnostics, although it counts exactly that, because those
//     messages reach us only as fast as the bridge publishes to the local broker, which falls
//     seconds behind once the bridge is saturated (500 devices and more here): the window's edges
//     then see stale counts. It is still summed and printed beside ours ("diag") as a cross-check.
// The starts also give each group's timing, hence missed and late polls.

struct DeviceSeen {
    std::string serial;
    bool state = false;                                     // a block state seen on the local broker
    std::uint16_t asked = 0;                                // the last request's block: a reply does not say it
    Clock::time_point asked_at;                             // and when
    std::vector<std::vector<Clock::time_point>> starts;     // per group: the poll starts
    std::map<std::uint16_t, Clock::time_point> replied;     // per block: a reply not yet seen as a state
    nlohmann::json diagnostics = nlohmann::json::object();  // the latest
};

class Observer {
public:
    Observer(const Plan& plan, std::size_t devices) : plan_(plan), cloud_(loop_, "bench-cloud"), local_(loop_, "bench-local") {
        for (std::size_t i = 0; i < devices; ++i) {
            DeviceSeen d;
            d.serial = std::to_string(kFirstSerial + i);
            d.starts.resize(plan.groups.size());
            index_[d.serial] = i;
            devices_.push_back(std::move(d));
        }
        for (std::size_t g = 0; g < plan.groups.size(); ++g) group_of_[plan.groups[g].first_block] = g;
    }

    void connect(const Mosquitto& cloud, const TestCertificates& certs, const Mosquitto& local) {
        mqtt::Options c;
        c.port = cloud.port();
        c.client_id = "bench-observer";
        c.tls = true;
        c.ca_file = certs.ca_cert;
        c.cert_file = certs.client_cert;
        c.key_file = certs.client_key;
        open(cloud_, c, {std::string("SUB/") + kModel + "/+", std::string("PUB/") + kModel + "/+"},
             [this](const std::string& t, ByteSpan p) { on_cloud(t, p); });
        mqtt::Options l;
        l.port = local.port();
        l.client_id = "bench-observer";
        open(local_, l, {"bluetti/#", kHopTopic}, [this](const std::string& t, ByteSpan p) { on_local(t, p); });
    }

    // Runs the loop until `done()` (true) or the timeout (false).
    bool run_until(const std::function<bool()>& done, milliseconds timeout) {
        loop_.run_until([&] { return lost_ || done(); }, timeout);
        if (lost_) die("the observer lost a broker connection");
        return done();
    }
    void run_for(milliseconds duration) {
        run_until([] { return false; }, duration);
    }

    // Every device polled in every group, and a state of it on the local broker.
    std::size_t ready_devices() const {
        return static_cast<std::size_t>(std::count_if(devices_.begin(), devices_.end(), [](const DeviceSeen& d) {
            return d.state && std::all_of(d.starts.begin(), d.starts.end(), [](const auto& s) { return !s.empty(); });
        }));
    }
    // What we counted and the bridge's diagnostics summed over devices, into `c` by name.
    void add_counters(std::map<std::string, double>& c) const {
        c["requests"] = static_cast<double>(requests_);
        c["replies"] = static_cast<double>(replies_);
        c["retries"] = static_cast<double>(retries_);
        for (const char* field : {"polls", "timeouts", "crc_errors", "exceptions"}) {
            double& sum = c[field];
            for (const auto& d : devices_) sum += d.diagnostics.value(field, 0.0);
        }
    }
    const std::vector<DeviceSeen>& devices() const { return devices_; }
    void set_measuring(bool on) {
        measuring_ = on;
        if (on) send_hop_probe();
    }
    const std::vector<double>& latencies_ms() const { return latencies_ms_; }
    const std::vector<double>& hop_ms() const { return hop_ms_; }

private:
    const Plan& plan_;
    EventLoop loop_;  // before the sessions: their hooks live in it
    mqtt::Session cloud_, local_;
    std::vector<DeviceSeen> devices_;
    std::unordered_map<std::string, std::size_t> index_;
    std::map<std::uint16_t, std::size_t> group_of_;
    std::uint64_t requests_ = 0, replies_ = 0, retries_ = 0;
    int connack_ = 1, suback_ = -1;  // of the session being opened
    bool measuring_ = false, lost_ = false;
    std::vector<double> latencies_ms_;
    // The raw broker hop of the same run: every 100 ms a probe published on the local broker and
    // received back by this observer (publish -> broker -> subscriber, what the bridge's state
    // takes after the bridge); the latency minus it is what the bridge adds.
    static constexpr const char* kHopTopic = "bench/hop";
    std::map<std::uint64_t, Clock::time_point> hop_sent_;
    std::uint64_t hop_seq_ = 0;
    std::vector<double> hop_ms_;

    void send_hop_probe() {
        if (!measuring_) return;
        const std::uint64_t seq = ++hop_seq_;
        hop_sent_[seq] = Clock::now();
        local_.publish(kHopTopic, std::to_string(seq), 1, false);
        loop_.after(milliseconds(100), [this] { send_hop_probe(); });
    }

    using OnMessage = std::function<void(const std::string&, ByteSpan)>;
    void open(mqtt::Session& s, const mqtt::Options& o, const std::vector<std::string>& topics, OnMessage on_message) {
        connack_ = 1;
        s.set_handlers({.on_connect = [this](int rc, const std::string&) { connack_ = rc; },
                        .on_disconnect = [this](int, const std::string&) { lost_ = true; },
                        .on_message = [on_message](const std::string& t, ByteSpan p, bool) { on_message(t, p); },
                        .on_subscribe = [this](int mid, const std::vector<int>&) { suback_ = mid; },
                        .on_publish = nullptr});
        std::string error;
        if (!s.connect(o, error)) die("observer: " + error);
        loop_.run_until([&] { return connack_ != 1 || lost_; }, kStartTimeout);
        if (connack_ != 0) die("observer: no CONNACK from 127.0.0.1:" + std::to_string(o.port));
        for (const auto& topic : topics) {
            const int mid = s.subscribe(topic, 1);
            loop_.run_until([&] { return suback_ == mid; }, kStartTimeout);
            if (mid < 0 || suback_ != mid) die("observer: cannot subscribe to " + topic);
        }
    }

    DeviceSeen* device(const std::string& serial) {
        auto it = index_.find(serial);
        return it == index_.end() ? nullptr : &devices_[it->second];
    }

    // SUB/<model>/<subSn>: a request of the bridge. PUB/<model>/<subSn>: the simulator's reply.
    void on_cloud(const std::string& topic, ByteSpan payload) {
        const auto now = Clock::now();
        DeviceSeen* d = device(topic.substr(topic.rfind('/') + 1));
        if (!d) return;
        if (topic.rfind("PUB/", 0) == 0) {
            ++replies_;
            d->replied[d->asked] = now;
            return;
        }
        const auto rtu = codec::unwrap(payload);
        if (!rtu) return;
        const auto frame = codec::parse_frame(rtu->rtu, codec::Direction::request);
        if (!frame) return;
        ++requests_;
        // The same block again within kRetryWindow is a retry: polls of one block come a group
        // interval apart (≥ 30 s; core's two blocks alternate). Its reply may even have come already,
        // still unread by a saturated bridge when its timeout struck.
        const bool retry = d->asked == frame->address && now - d->asked_at < kRetryWindow;
        d->asked = frame->address;
        d->asked_at = now;
        d->replied.erase(d->asked);  // an older reply of this block was published or dropped by now
        if (retry) {
            ++retries_;
            return;
        }
        if (auto g = group_of_.find(frame->address); g != group_of_.end()) d->starts[g->second].push_back(now);
    }

    // bluetti/<serial>/<state topic> and bluetti/<serial>/diagnostics.
    void on_local(const std::string& topic, ByteSpan payload) {
        const auto now = Clock::now();
        if (topic == kHopTopic) {
            const auto sent = hop_sent_.find(std::strtoull(std::string(payload.begin(), payload.end()).c_str(), nullptr, 10));
            if (sent == hop_sent_.end()) return;
            hop_ms_.push_back(std::chrono::duration<double, std::milli>(now - sent->second).count());
            hop_sent_.erase(sent);
            return;
        }
        const auto slash = topic.find('/', 8);
        if (slash == std::string::npos) return;
        DeviceSeen* d = device(topic.substr(8, slash - 8));
        const std::string name = topic.substr(slash + 1);
        if (!d || name == "availability") return;
        if (name == "diagnostics") {
            auto j = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
            if (j.is_object()) d->diagnostics = std::move(j);
            return;
        }
        d->state = true;
        const auto block = plan_.topic_block.find(name);
        if (block == plan_.topic_block.end()) return;
        const auto reply = d->replied.find(block->second);
        if (reply == d->replied.end()) return;
        if (measuring_) latencies_ms_.push_back(std::chrono::duration<double, std::milli>(now - reply->second).count());
        d->replied.erase(reply);
    }
};

// ---------------------------------------------------------------------------------------------
// Polls expected from the intervals against polls done, per device and group.

struct PollTally {
    std::uint64_t expected = 0, done = 0, missed = 0;
    double latest_s = 0;  // the largest delay of a poll start after its due time
};

// The bridge dates a group's next poll from the end of the previous one, so its period is the
// interval plus the poll's own duration and the starts drift later by design. Counting due times
// from a fixed phase would call that drift "missed"; instead each gap between starts is judged on
// its own. A start later than one interval after the previous adds to `latest_s`; each whole
// interval without a start is a missed poll, also at the window's end (with kDueSlack, since the
// end of the previous poll is a few ms after the start we see). Expected = done + missed: the polls
// a bridge that keeps every interval would have started in the window.
PollTally count_polls(const std::vector<Clock::time_point>& starts, milliseconds interval, Clock::time_point from, Clock::time_point to) {
    PollTally t;
    auto it = std::upper_bound(starts.begin(), starts.end(), from);
    if (it == starts.begin()) return t;  // never polled before the window: readiness rules it out
    Clock::time_point previous = *(it - 1);
    for (; it != starts.end() && *it <= to; ++it) {
        const auto gap = *it - previous;
        ++t.done;
        t.latest_s = std::max(t.latest_s, seconds_between(previous + interval, *it));
        if (gap >= 2 * interval) t.missed += static_cast<std::uint64_t>(gap / interval) - 1;
        previous = *it;
    }
    const auto open = to - previous - kDueSlack;  // the gap still open at the end
    if (open >= interval) {
        t.missed += static_cast<std::uint64_t>(open / interval);
        t.latest_s = std::max(t.latest_s, seconds_between(previous + interval, to));
    }
    t.expected = t.done + t.missed;
    return t;
}

// ---------------------------------------------------------------------------------------------
// One step: N devices.

// Counters that only grow, by name, read at the start and at the end of the window: CPU in µs
// (bridge, sim, cloud, local, bench), the machine's busy/total jiffies, what the observer counted
// and the bridge's diagnostics summed over devices.
using Counters = std::map<std::string, double>;

Counters read_counters(pid_t bridge, pid_t sim, pid_t cloud, pid_t local, const Observer& observer) {
    Counters c;
    c["bridge"] = process_cpu_us(bridge);
    c["sim"] = process_cpu_us(sim);
    c["cloud"] = process_cpu_us(cloud);
    c["local"] = process_cpu_us(local);
    c["bench"] = self_cpu_us();
    std::tie(c["busy"], c["jiffies"]) = machine_jiffies();
    observer.add_counters(c);
    return c;
}

struct StepResult {
    std::size_t devices = 0;
    double ready_s = 0, window_s = 0;
    Counters used;                  // end minus start
    std::vector<PollTally> groups;  // summed over devices
    PollTally all;
    double rss_mb = 0, hwm_mb = 0, anon_mb = 0, file_mb = 0, pss_mb = 0;
    std::vector<double> latencies_ms;
    std::vector<double> hop_ms;            // the raw local broker hop, measured beside
    std::string dropped_for;               // clients a broker dropped messages for, see run_step
    std::size_t warnings = 0, errors = 0;  // the bridge's log lines
};

// " <broker>: <client>" for every client the broker's log says it dropped outgoing messages for
// ("Outgoing messages are being dropped for client <id>."), each once.
std::string clients_dropped_for(const std::string& broker, const std::string& log) {
    static const std::string marker = "being dropped for client ";
    std::set<std::string> clients;
    for (auto at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
        const auto from = at + marker.size();
        auto to = log.find_first_of(".\n", from);
        clients.insert(log.substr(from, to == std::string::npos ? std::string::npos : to - from));
    }
    std::string named;
    for (const auto& c : clients) named += " " + broker + ": " + c;
    return named;
}

void count_window_polls(StepResult& r, const Observer& observer, const Plan& plan, Clock::time_point from, Clock::time_point to) {
    r.groups.assign(plan.groups.size(), {});
    for (const auto& d : observer.devices())
        for (std::size_t g = 0; g < plan.groups.size(); ++g) {
            const PollTally t = count_polls(d.starts[g], plan.groups[g].interval, from, to);
            for (PollTally* sum : {&r.groups[g], &r.all}) {
                sum->expected += t.expected;
                sum->done += t.done;
                sum->missed += t.missed;
                sum->latest_s = std::max(sum->latest_s, t.latest_s);
            }
        }
}

StepResult run_step(std::size_t devices, const Options& options, const Plan& plan, const TestCertificates& certs) {
    StepResult r;
    r.devices = devices;
    TempDir dir("bluetti-e2e");
    // The observer follows every request, reply and state of every device on one loop; with
    // mosquitto's default queue of 1,000 messages per client it lost messages at 2,000 devices and
    // more, and a lost first poll of a 1-hour group kept its device from ever looking ready. The
    // bridge never came near that queue (its timeouts stay 0), so a larger one changes nothing for it.
    auto roomy = [](MosquittoOptions o) {
        o.extra_config.push_back("max_queued_messages 1000000");
        return o;
    };
    Mosquitto cloud(roomy(tls_broker_options(certs))), local(roomy({}));
    std::string error;
    if (!cloud.start(dir.path(), error) || !local.start(dir.path(), error)) die(error);
    Observer observer(plan, devices);  // subscribed before the first request, so it sees every poll
    observer.connect(cloud, certs, local);
    ChildProcess sim, bridge;
    const int rest_port = start_sim(sim, dir, cloud, certs, devices);
    const std::string config = bridge_config(dir, cloud, local, certs, rest_port, devices, options.interval);
    ChildOptions o;
    o.stderr_file = dir.file("bridge.log");
    if (!bridge.start(options.bridge, {"--config", config}, o, error)) die("bluetti-bridge: " + error);
    const auto started = Clock::now();

    // Generous: at start every group of every device is due at once.
    const auto ready_timeout = milliseconds(60'000 + 100 * static_cast<long long>(devices));
    if (!observer.run_until([&] { return observer.ready_devices() == devices || !bridge.running(); }, ready_timeout) || !bridge.running())
        die(std::to_string(observer.ready_devices()) + " of " + std::to_string(devices) + " devices ready after " +
            std::to_string(ready_timeout.count() / 1000) + " s; bridge: " + bridge.describe() + "\nsim: " + sim.describe(5));
    r.ready_s = seconds_between(started, Clock::now());
    observer.run_for(milliseconds(options.warmup_seconds * 1000));

    const auto counters = [&] { return read_counters(bridge.pid(), sim.pid(), cloud.process().pid(), local.process().pid(), observer); };
    const auto from = Clock::now();
    const Counters a = counters();
    observer.set_measuring(true);
    observer.run_for(milliseconds(options.seconds * 1000));
    const auto to = Clock::now();
    r.used = counters();
    if (!bridge.running()) die("bluetti-bridge died during the window: " + bridge.describe());
    for (auto& [name, value] : r.used) value -= a.at(name);
    r.window_s = seconds_between(from, to);
    count_window_polls(r, observer, plan, from, to);
    observer.set_measuring(false);
    r.latencies_ms = observer.latencies_ms();
    r.hop_ms = observer.hop_ms();
    r.rss_mb = proc_mb(bridge.pid(), "status", "VmRSS:");
    r.hwm_mb = proc_mb(bridge.pid(), "status", "VmHWM:");
    r.anon_mb = proc_mb(bridge.pid(), "status", "RssAnon:");
    r.file_mb = proc_mb(bridge.pid(), "status", "RssFile:");
    r.pss_mb = proc_mb(bridge.pid(), "smaps_rollup", "Pss:");
    // A broker drops QoS 1 messages for a client whose queue is full (max_queued_messages, 1000 by
    // default); then our counts would be short. The bridge's own complaints, before SIGTERM adds its
    // "offline" lines, tell whether it struggled.
    r.dropped_for = clients_dropped_for("cloud", cloud.log_text()) + clients_dropped_for("local", local.log_text());
    const std::string log = bridge.stderr_text();
    r.warnings = count_of(log, "[warning]");
    r.errors = count_of(log, "[error]") + count_of(log, "[critical]");

    // Stopped by their own PIDs (docs/style.md #15); the brokers by their destructors.
    const int bridge_status = bridge.stop(), sim_status = sim.stop();
    if (bridge_status != 0 || sim_status != 0)
        std::fprintf(stderr, "bench_e2e: warning: bluetti-bridge exited %d, bluetti-sim %d (BLUETTI_KEEP_TEST_DIRS=1 keeps the logs)\n",
                     bridge_status, sim_status);
    return r;
}

// ---------------------------------------------------------------------------------------------

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.999999);
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];  // nearest rank: a value that was measured
}

// Block reads completed: the simulator answers a retried request too, so a retry adds a reply.
double blocks(const Counters& used) {
    return used.at("replies") - used.at("retries");
}

double per(double total, double n) {
    return n > 0 ? total / n : 0;
}

void print_header(const Options& options, const Plan& plan) {
#ifdef NDEBUG
    const char* asserts = "NDEBUG";
#else
    const char* asserts = "asserts on";
#endif
    std::printf("bench/e2e  cpu: %s (%u logical CPUs)  build: %s, g++ %s, %s  date: %s\n", cpu_model().c_str(),
                std::thread::hardware_concurrency(), BLUETTI_BUILD_TYPE, __VERSION__, asserts, utc_now().c_str());
    std::string groups;
    for (const auto& g : plan.groups) groups += " " + g.name + " " + std::to_string(g.interval.count() / 1000) + "s";
    std::printf("%s devices in bluetti-sim; TLS cloud broker, plain local broker, all on 127.0.0.1; poll groups:%s\n", kModel,
                groups.c_str());
    std::printf("per step: ready (all groups polled once, a state seen), %d s warm-up, %d s measured; bridge: %s\n\n",
                options.warmup_seconds, options.seconds, options.bridge.c_str());
}

// The table's head; a row follows each step at once (print_row), so a later step that fails does
// not take the earlier figures with it.
void print_table_head() {
    std::printf("%7s  %6s  %8s  %9s  %7s  %6s  %6s  %18s  %6s  %7s  %17s\n", "devices", "ready", "CPU/poll", "CPU/block", "blocks", "RSS",
                "HWM", "polls exp/done", "diag", "latest", "latency p50/p99");
    std::printf("%7s  %6s  %8s  %9s  %7s  %6s  %6s  %18s  %6s  %7s  %17s\n", "", "s", "µs", "µs", "per s", "MB", "MB", "(missed)", "polls",
                "s late", "ms");
}

void print_row(const StepResult& r) {
    const auto& u = r.used;
    const std::string polls = std::to_string(r.all.expected) + "/" + std::to_string(r.all.done) + " (" + std::to_string(r.all.missed) + ")";
    std::printf("%7zu  %6.1f  %8.1f  %9.1f  %7.1f  %6.1f  %6.1f  %18s  %6.0f  %7.2f  %8.2f/%8.2f\n", r.devices, r.ready_s,
                per(u.at("bridge"), static_cast<double>(r.all.done)), per(u.at("bridge"), blocks(u)), blocks(u) / r.window_s, r.rss_mb,
                r.hwm_mb, polls.c_str(), u.at("polls"), r.all.latest_s, percentile(r.latencies_ms, 50), percentile(r.latencies_ms, 99));
    std::fflush(stdout);
}

void print_details(const std::vector<StepResult>& rows, const Plan& plan) {
    std::printf(
        "\nCPU = the bridge's, all threads (/proc/PID/task/*/schedstat). CPU/poll = per poll group started; CPU/block = per\n"
        "block read completed (replies on the cloud broker less retries). polls: done = poll starts on the cloud broker;\n"
        "missed = whole intervals without one (at the window's end: more than %llds overdue); exp = done + missed; diag = the\n"
        "same count from the bridge's diagnostics as the observer last saw them. latest = the largest delay of a poll start\n"
        "after the previous start plus the interval. latency = a reply on the cloud broker -> its state on the local broker.\n",
        static_cast<long long>(kDueSlack.count()));
    for (const auto& r : rows) {
        const auto& u = r.used;
        const double n = blocks(u);
        std::printf("\n%zu devices, %.1f s window, machine busy %.0f%% of %u CPUs:\n", r.devices, r.window_s,
                    100 * per(u.at("busy"), u.at("jiffies")), std::thread::hardware_concurrency());
        std::printf(
            "  bridge: %.0f ms CPU; RSS %.1f MB = %.1f anonymous + %.1f file-backed, PSS %.1f MB; its log: %zu warnings, %zu errors\n",
            u.at("bridge") / 1e3, r.rss_mb, r.anon_mb, r.file_mb, r.pss_mb, r.warnings, r.errors);
        std::printf("  CPU per block read elsewhere: sim %.1f, cloud broker %.1f, local broker %.1f, bench %.1f µs%s\n",
                    per(u.at("sim"), n), per(u.at("cloud"), n), per(u.at("local"), n), per(u.at("bench"), n),
                    r.dropped_for.empty() ? "" : ("; WARNING: a broker dropped messages for" + r.dropped_for).c_str());
        std::printf("  requests %.0f, replies %.0f, retries %.0f; diagnostics: timeouts %.0f, crc_errors %.0f, exceptions %.0f\n",
                    u.at("requests"), u.at("replies"), u.at("retries"), u.at("timeouts"), u.at("crc_errors"), u.at("exceptions"));
        std::string groups;
        for (std::size_t g = 0; g < plan.groups.size(); ++g)
            groups += " " + plan.groups[g].name + " " + std::to_string(r.groups[g].expected) + "/" + std::to_string(r.groups[g].done);
        std::printf("  polls exp/done per group:%s; latency max %.2f ms over %zu samples\n", groups.c_str(),
                    r.latencies_ms.empty() ? 0.0 : *std::max_element(r.latencies_ms.begin(), r.latencies_ms.end()), r.latencies_ms.size());
        const double hop50 = percentile(r.hop_ms, 50);
        std::printf(
            "  raw local broker hop p50/p99 %.2f/%.2f ms over %zu probes; bridge-added latency (latency - hop p50) "
            "p50/p99 %.2f/%.2f ms\n",
            hop50, percentile(r.hop_ms, 99), r.hop_ms.size(), percentile(r.latencies_ms, 50) - hop50,
            percentile(r.latencies_ms, 99) - hop50);
    }
}

// The figures of print_row and print_details, one object per step, for scripts/plot-bench.
void write_json(const std::string& file, const Options& options, const std::vector<StepResult>& rows) {
    nlohmann::ordered_json steps = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
        const auto& u = r.used;
        const double hop50 = percentile(r.hop_ms, 50);
        steps.push_back({{"devices", r.devices},
                         {"window_s", r.window_s},
                         {"cpu_ms", u.at("bridge") / 1e3},
                         {"cpu_per_poll_us", per(u.at("bridge"), static_cast<double>(r.all.done))},
                         {"cpu_per_block_us", per(u.at("bridge"), blocks(u))},
                         {"polls_expected", r.all.expected},
                         {"polls_done", r.all.done},
                         {"polls_missed", r.all.missed},
                         {"rss_mb", r.rss_mb},
                         {"hwm_mb", r.hwm_mb},
                         {"anon_mb", r.anon_mb},
                         {"file_mb", r.file_mb},
                         {"latency_p50_ms", percentile(r.latencies_ms, 50)},
                         {"latency_p99_ms", percentile(r.latencies_ms, 99)},
                         {"hop_p50_ms", hop50},
                         {"added_latency_p50_ms", percentile(r.latencies_ms, 50) - hop50},
                         {"added_latency_p99_ms", percentile(r.latencies_ms, 99) - hop50},
                         {"machine_busy", per(u.at("busy"), u.at("jiffies"))}});
    }
    const nlohmann::ordered_json doc = {{"label", options.label},
                                        {"bridge", options.bridge},
                                        {"date", utc_now()},
                                        {"build", BLUETTI_BUILD_TYPE},
                                        {"cpu", cpu_model()},
                                        {"cpus", std::thread::hardware_concurrency()},
                                        {"seconds", options.seconds},
                                        {"warmup_seconds", options.warmup_seconds},
                                        {"steps", steps}};
    std::ofstream out(file);
    out << doc.dump(2) << '\n';
    if (!out) die("cannot write " + file);
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    log::set_level("warn");  // our sessions' connect chatter would mix into the table
    if (!Mosquitto::available() || !TestCertificates::available()) die("needs mosquitto (" + Mosquitto::binary() + ") and openssl");
    const Plan plan = make_plan(options.interval);

    TempDir dir("bluetti-e2e-pki");
    TestCertificates certs;
    CertificateOptions cert_options;
    cert_options.pkcs12 = true;
    std::string error;
    if (!certs.generate(dir.path(), cert_options, error)) die(error);

    print_header(options, plan);
    print_table_head();
    std::vector<StepResult> rows;
    for (const std::size_t n : options.devices) {
        rows.push_back(run_step(n, options, plan, certs));
        print_row(rows.back());
    }
    print_details(rows, plan);
    if (!options.json_file.empty()) write_json(options.json_file, options, rows);
    return 0;
}
