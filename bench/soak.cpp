// bench/soak: the real bluetti-bridge for a long run against many simulated devices with mixed
// faults, watching that nothing creeps: its RSS, open file descriptors and CPU sampled every minute,
// and every value it publishes checked as the fault matrix checks it (tests/system/
// fault_system_test.cpp): what the simulator keeps constant never changes, serials and firmware stay right, the grid
// frequency stays near 50 Hz, no null values, energy counters never decrease.
//
// The rig is bench/rig.hpp's (as bench_e2e): a TLS cloud broker with client certificates,
// bluetti-sim with --devices EL100V2 and its REST stand-in, a plain local broker, and the bridge
// with the daemon's default timeouts. The faults are split evenly among dropped requests, bad CRCs,
// exception replies and short replies (--faults 5: 1.25 % each), drawn from --seed.
//
// Verdict (exit status 0 or 1): the bridge ran throughout, zero wrong values, and after the warm-up
// RSS and open fds grew by less than 1 % (largest sample against the first after the warm-up).
// The 5-minute variant is registered with ctest under the `slow` label; the 1-hour run is by hand:
//
//   bench_soak [--devices 100] [--minutes 60] [--warmup-minutes 10] [--faults 5] [--interval 10]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "mqtt_test_client.hpp"
#include "rig.hpp"

namespace {

using namespace bluetti;
using namespace bluetti::bench;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Options {
    std::size_t devices = 100;
    int minutes = 60;
    int warmup_minutes = 10;
    double faults = 5;
    int interval = 10;
    int sample_seconds = 60;
    std::uint64_t seed = 1;
};

Options parse_options(int argc, char** argv) {
    Options o;
    CLI::App app{"bench_soak: bluetti-bridge against simulated devices with faults; RSS, fds, CPU and values over time"};
    app.add_option("--devices", o.devices, "simulated EL100V2")->check(CLI::Range(1, 5000))->capture_default_str();
    app.add_option("--minutes", o.minutes, "length of the run")->check(CLI::Range(1, 24 * 60))->capture_default_str();
    app.add_option("--warmup-minutes", o.warmup_minutes, "samples before this are not judged")
        ->check(CLI::Range(0, 24 * 60))
        ->capture_default_str();
    app.add_option("--faults", o.faults, "percent of requests with a fault, split four ways")
        ->check(CLI::Range(0.0, 100.0))
        ->capture_default_str();
    app.add_option("--interval", o.interval, "core poll interval in seconds")->check(CLI::Range(1, 3600))->capture_default_str();
    app.add_option("--sample-seconds", o.sample_seconds, "seconds between samples")->check(CLI::Range(1, 3600))->capture_default_str();
    app.add_option("--seed", o.seed, "bluetti-sim's seed")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        std::exit(app.exit(e) == 0 ? 0 : 2);
    }
    if (o.warmup_minutes >= o.minutes) die("--warmup-minutes must be less than --minutes");
    return o;
}

// Checks every state the bridge publishes; counts values checked and wrong ones.
class ValueChecker {
public:
    void on_message(const std::string& topic, const std::string& text) {
        if (topic.rfind("homeassistant/device/bluetti_", 0) == 0) {
            const auto j = json::parse(text, nullptr, false);
            if (j.is_discarded() || !j.contains("components")) return;
            for (const auto& [key, comp] : j["components"].items())
                if (comp.value("device_class", "") == "energy") energy_keys_.insert(key);
            return;
        }
        // bluetti/<serial>/<name>
        if (topic.rfind("bluetti/", 0) != 0) return;
        const auto slash = topic.find('/', 8);
        if (slash == std::string::npos) return;
        const std::string serial = topic.substr(8, slash - 8), name = topic.substr(slash + 1);
        if (serial == "bridge" || name == "availability" || name == "diagnostics" || name.find('/') != std::string::npos) return;
        const auto j = json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return wrong(topic, "not a JSON object: " + text);
        // What the simulator never changes: the settings block whole, the info block's texts
        // (firmware versions, model) but not its temperatures.
        const bool settings = name == "inv_base_settings", info = name == "inv_base_info";
        for (const auto& [key, value] : j.items()) {
            ++checked_;
            const std::string where = topic + " " + key;
            if (value.is_null()) wrong(where, "null");
            if (key == "device_serial" && value != serial) wrong(where, value.dump());
            if (key == "firmware_arm_version" && value != "4011.05") wrong(where, value.dump());
            if (key == "grid_frequency" && (!value.is_number() || value.get<double>() < 49.5 || value.get<double>() > 50.5))
                wrong(where, value.dump());
            if (settings || (info && value.is_string())) {
                auto [at, fresh] = first_.emplace(where, value);
                if (!fresh && at->second != value) wrong(where, "changed " + at->second.dump() + " -> " + value.dump());
            }
            if (energy_keys_.count(key) && value.is_number()) {
                auto [at, fresh] = energy_.emplace(where, value.get<double>());
                if (!fresh && value.get<double>() < at->second)
                    wrong(where, "went down " + std::to_string(at->second) + " -> " + value.dump());
                at->second = std::max(at->second, value.get<double>());
            }
        }
    }
    std::uint64_t checked() const { return checked_; }
    std::uint64_t wrong_values() const { return wrong_; }

private:
    std::set<std::string> energy_keys_;
    std::map<std::string, json> first_;
    std::map<std::string, double> energy_;
    std::uint64_t checked_ = 0, wrong_ = 0;

    void wrong(const std::string& where, const std::string& what) {
        if (++wrong_ <= 20) std::fprintf(stderr, "bench_soak: WRONG VALUE %s: %s\n", where.c_str(), what.c_str());
    }
};

struct Sample {
    double minute = 0;
    double rss_mb = 0, anon_mb = 0;
    std::size_t fds = 0;
    double cpu_ms = 0;  // in the period before the sample
    std::uint64_t states = 0, wrong = 0;
};

// Growth of the largest judged sample over the first judged one, in percent.
double growth_pct(const std::vector<Sample>& samples, std::size_t first, double Sample::*field) {
    double base = samples[first].*field, top = base;
    for (std::size_t i = first; i < samples.size(); ++i) top = std::max(top, samples[i].*field);
    return base > 0 ? (top - base) / base * 100 : 0;
}

double growth_pct_fds(const std::vector<Sample>& samples, std::size_t first) {
    std::size_t base = samples[first].fds, top = base;
    for (std::size_t i = first; i < samples.size(); ++i) top = std::max(top, samples[i].fds);
    return base > 0 ? static_cast<double>(top - base) / static_cast<double>(base) * 100 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    if (!Mosquitto::available() || !TestCertificates::available()) {
        std::fprintf(stderr, "bench_soak: skipped: mosquitto or openssl is not installed\n");
        return 77;
    }
    TempDir cert_dir("bluetti-soak-certs");
    TestCertificates certs;
    CertificateOptions co;
    co.pkcs12 = true;
    std::string error;
    if (!certs.generate(cert_dir.path(), co, error)) die(error);

    TempDir dir("bluetti-soak");
    Mosquitto cloud(tls_broker_options(certs)), local;
    if (!cloud.start(dir.path(), error) || !local.start(dir.path(), error)) die(error);
    const std::string each = std::to_string(options.faults / 4);
    ChildProcess sim, bridge;
    const int rest_port =
        start_sim(sim, dir, cloud, certs, options.devices,
                  {"--drop", each, "--bad-crc", each, "--exception", each, "--short-reply", each, "--seed", std::to_string(options.seed)});
    const std::string config = bridge_config(dir, cloud, local, certs, rest_port, options.devices, options.interval);

    MqttTestClient ha;  // "Home Assistant", subscribed before the bridge starts
    mqtt::Options o;
    o.port = local.port();
    o.client_id = "soak-observer";
    if (!ha.connect(o, kStartTimeout, error)) die("local broker: " + error);
    if (!ha.subscribe("homeassistant/#", kStartTimeout) || !ha.subscribe("bluetti/#", kStartTimeout)) die("cannot subscribe");

    ChildOptions bo;
    bo.stderr_file = dir.file("bridge.log");
    if (!bridge.start(BLUETTI_BRIDGE_BINARY, {"--config", config}, bo, error)) die("bluetti-bridge: " + error);

    std::printf("bench/soak  cpu: %s  build: %s  date: %s\n", cpu_model().c_str(), BLUETTI_BUILD_TYPE, utc_now().c_str());
    std::printf("%zu EL100V2, core every %d s, %.2f %% faults (drop, bad CRC, exception, short reply: %.2f %% each), seed %llu\n",
                options.devices, options.interval, options.faults, options.faults / 4, static_cast<unsigned long long>(options.seed));
    std::printf("%d min, samples every %d s, judged after %d min\n\n", options.minutes, options.sample_seconds, options.warmup_minutes);
    std::printf("minute   RSS MB  anon MB   fds   CPU ms     msgs   wrong\n");
    std::fflush(stdout);

    ValueChecker checker;
    std::uint64_t states = 0;
    std::vector<Sample> samples;
    const auto start = Clock::now(), end = start + std::chrono::minutes(options.minutes);
    auto next_sample = start + std::chrono::seconds(options.sample_seconds);
    double last_cpu_us = process_cpu_us(bridge.pid());
    while (Clock::now() < end && bridge.running()) {
        if (auto m = ha.wait_message([](const MqttMessage&) { return true; }, milliseconds(200))) {
            checker.on_message(m->topic, m->text());
            ++states;
        }
        if (!ha.connected()) die("the observer lost the local broker");
        if (Clock::now() < next_sample) continue;
        next_sample += std::chrono::seconds(options.sample_seconds);
        Sample s;
        s.minute = std::chrono::duration<double>(Clock::now() - start).count() / 60;
        s.rss_mb = proc_mb(bridge.pid(), "status", "VmRSS:");
        s.anon_mb = proc_mb(bridge.pid(), "status", "RssAnon:");
        s.fds = open_fds(bridge.pid());
        const double cpu = process_cpu_us(bridge.pid());
        s.cpu_ms = (cpu - last_cpu_us) / 1000;
        last_cpu_us = cpu;
        s.states = states;
        s.wrong = checker.wrong_values();
        samples.push_back(s);
        std::printf("%6.1f %8.1f %8.1f %5zu %8.1f %8llu %7llu\n", s.minute, s.rss_mb, s.anon_mb, s.fds, s.cpu_ms,
                    static_cast<unsigned long long>(s.states), static_cast<unsigned long long>(s.wrong));
        std::fflush(stdout);
    }
    const bool alive = bridge.running();
    const std::string log = bridge.stderr_text();
    const int bridge_status = bridge.stop(), sim_status = sim.stop();

    std::size_t first = 0;
    while (first < samples.size() && samples[first].minute < options.warmup_minutes) ++first;
    if (first + 1 >= samples.size()) die("fewer than two samples after the warm-up");
    const double rss = growth_pct(samples, first, &Sample::rss_mb), fds = growth_pct_fds(samples, first);
    const bool flat = rss < 1.0 && fds < 1.0;
    std::printf("\nafter the warm-up (from minute %.1f): RSS %+.2f %%, fds %+.2f %% (largest sample against the first)\n",
                samples[first].minute, rss, fds);
    std::printf("values checked %llu, wrong %llu; bridge log: %zu warnings, %zu errors; exit status bridge %d, sim %d\n",
                static_cast<unsigned long long>(checker.checked()), static_cast<unsigned long long>(checker.wrong_values()),
                count_of(log, "[warning]"), count_of(log, "[error]") + count_of(log, "[critical]"), bridge_status, sim_status);
    const bool ok = alive && flat && checker.wrong_values() == 0 && checker.checked() > 0 && bridge_status == 0;
    std::printf("verdict: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
