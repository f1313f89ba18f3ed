// bench/contention: the real bluetti-bridge while another cloud client reads every station too
// (bluetti-sim --app-reads: random blocks and partial reads, every MIN–MAX ms per station) with the
// cloud's latency (--delay), for minutes. It judges what issue "values you can trust while another
// client reads the station" promises, and prints the price:
//
//   - every value the bridge published is one the device answered for that key
//     (tests/system/support/device_answers.hpp: bluetti-sim --answers-log);
//   - no energy counter went down or rose faster than the model's power allows;
//   - every station stayed online, and its core block was taken at least every three core
//     intervals (from the bridge's -v log: a state is only published when it changed);
//   - polls done, frames of other clients, frames rejected, confirmation reads needed (the
//     stations' diagnostics at the end).
//
//   bench_contention [--devices 10] [--minutes 10] [--latency 400] [--app-reads 300:900]
//                    [--faults 0] [--pushes 0] [--no-mirror] [--interval 10]
//
// --no-mirror gives the cloud broker an ACL that lets the bridge read only the reply topics (as
// the Bluetti broker may): then nothing shows the other client's reads and every reply is
// confirmed by a second read while it reads.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bridge_log.hpp"
#include "device_answers.hpp"
#include "mqtt_test_client.hpp"
#include "rig.hpp"

namespace {

using namespace bluetti;
using namespace bluetti::bench;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double kMaxPowerW = 1800 * 2;  // EL100V2: max_power with the ranges' ×2 margin

struct Options {
    std::size_t devices = 10;
    int minutes = 10;
    int latency_ms = 400;
    std::string app_reads = "300:900";
    double faults = 0;
    double pushes = 0;
    bool no_mirror = false;
    int interval = 10;
    std::uint64_t seed = 1;
};

Options parse_options(int argc, char** argv) {
    Options o;
    CLI::App app{"bench_contention: bluetti-bridge while another cloud client reads the same stations"};
    app.add_option("--devices", o.devices, "simulated EL100V2")->check(CLI::Range(1, 2000))->capture_default_str();
    app.add_option("--minutes", o.minutes, "length of the run")->check(CLI::Range(1, 24 * 60))->capture_default_str();
    app.add_option("--latency", o.latency_ms, "the simulator answers this late (ms)")->check(CLI::Range(0, 5000))->capture_default_str();
    app.add_option("--app-reads", o.app_reads, "the other client's pause between reads, MIN:MAX ms")->capture_default_str();
    app.add_option("--faults", o.faults, "percent of requests with a fault, split four ways")
        ->check(CLI::Range(0.0, 100.0))
        ->capture_default_str();
    app.add_option("--pushes", o.pushes, "push blocks 100 and 1300 every S seconds (0: none)")->capture_default_str();
    app.add_flag("--no-mirror", o.no_mirror, "the cloud broker does not show the bridge the request topics");
    app.add_option("--interval", o.interval, "core poll interval in seconds")->check(CLI::Range(1, 3600))->capture_default_str();
    app.add_option("--seed", o.seed, "bluetti-sim's seed")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        std::exit(app.exit(e) == 0 ? 0 : 2);
    }
    return o;
}

// What one station published.
struct Station {
    std::map<std::string, std::vector<std::pair<json, Clock::time_point>>> states;  // state topic -> payloads
    std::vector<std::string> availability;
    json diagnostics;
};

std::vector<std::string> sim_flags(const Options& o, const TempDir& dir) {
    const std::string each = std::to_string(o.faults / 4);
    std::vector<std::string> f{"--app-reads",   o.app_reads,
                               "--delay",       std::to_string(o.latency_ms),
                               "--seed",        std::to_string(o.seed),
                               "--answers-log", dir.file("answers.jsonl")};
    if (o.faults > 0) f.insert(f.end(), {"--drop", each, "--bad-crc", each, "--exception", each, "--short-reply", each});
    if (o.pushes > 0) f.insert(f.end(), {"--push-every", std::to_string(o.pushes)});
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    if (!Mosquitto::available() || !TestCertificates::available()) {
        std::fprintf(stderr, "bench_contention: skipped: mosquitto or openssl is not installed\n");
        return 77;
    }
    TempDir cert_dir("bluetti-contention-certs");
    TestCertificates certs;
    CertificateOptions co;
    co.pkcs12 = true;
    co.device_client = true;
    std::string error;
    if (!certs.generate(cert_dir.path(), co, error)) die(error);

    TempDir dir("bluetti-contention");
    MosquittoOptions cloud_options = tls_broker_options(certs);
    if (options.no_mirror) {
        write_text_file(dir.file("cloud.acl"),
                        "user " + co.client_cn + "\ntopic read PUB/#\ntopic write SUB/#\nuser " + co.device_cn + "\ntopic readwrite #\n");
        cloud_options.extra_config.push_back("acl_file " + dir.file("cloud.acl"));
    }
    Mosquitto cloud(cloud_options), local;
    if (!cloud.start(dir.path(), error) || !local.start(dir.path(), error)) die(error);
    ChildProcess sim, bridge;
    const int rest_port = start_sim(sim, dir, cloud, certs, options.devices, sim_flags(options, dir), options.no_mirror);
    const std::string config = bridge_config(dir, cloud, local, certs, rest_port, options.devices, options.interval);

    MqttTestClient ha;
    mqtt::Options o;
    o.port = local.port();
    o.client_id = "contention-observer";
    if (!ha.connect(o, kStartTimeout, error)) die("local broker: " + error);
    if (!ha.subscribe("homeassistant/#", kStartTimeout) || !ha.subscribe("bluetti/#", kStartTimeout)) die("cannot subscribe");
    ChildOptions bo;
    bo.stderr_file = dir.file("bridge.log");
    // -v: the log says when each block was taken (bridge_log.hpp); states are only published on change.
    if (!bridge.start(BLUETTI_BRIDGE_BINARY, {"--config", config, "-v"}, bo, error)) die("bluetti-bridge: " + error);

    std::printf("bench/contention  cpu: %s  build: %s  date: %s\n", cpu_model().c_str(), BLUETTI_BUILD_TYPE, utc_now().c_str());
    std::printf(
        "%zu EL100V2, core every %d s, %d min; the other client reads every %s ms; latency %d ms; %.2f %% faults; pushes %s; "
        "request mirror %s\n",
        options.devices, options.interval, options.minutes, options.app_reads.c_str(), options.latency_ms, options.faults,
        options.pushes > 0 ? "on" : "off", options.no_mirror ? "refused (ACL)" : "allowed");
    std::fflush(stdout);

    std::map<std::string, Station> stations;
    std::set<std::string> energy_keys;
    const auto end = Clock::now() + std::chrono::minutes(options.minutes);
    while (Clock::now() < end && bridge.running()) {
        auto m = ha.wait_message([](const MqttMessage&) { return true; }, std::chrono::milliseconds(200));
        if (!m) continue;
        const std::string topic = m->topic;
        if (topic.rfind("homeassistant/device/bluetti_", 0) == 0) {
            const auto j = json::parse(m->text(), nullptr, false);
            if (!j.is_discarded() && j.contains("components"))
                for (const auto& [key, comp] : j["components"].items())
                    if (comp.value("device_class", "") == "energy") energy_keys.insert(key);
            continue;
        }
        if (topic.rfind("bluetti/", 0) != 0) continue;
        const auto slash = topic.find('/', 8);
        if (slash == std::string::npos) continue;
        const std::string serial = topic.substr(8, slash - 8), name = topic.substr(slash + 1);
        if (serial == "bridge" || name.find('/') != std::string::npos) continue;
        Station& s = stations[serial];
        if (name == "availability") {
            s.availability.push_back(m->text());
        } else {
            auto j = json::parse(m->text(), nullptr, false);
            if (name == "diagnostics")
                s.diagnostics = std::move(j);
            else
                s.states[name].push_back({std::move(j), Clock::now()});
        }
    }
    const bool alive = bridge.running();
    const std::string log = bridge.stderr_text();
    const int bridge_status = bridge.stop();
    sim.stop();

    DeviceAnswers answers;
    answers.load(dir.file("answers.jsonl"));
    std::uint64_t checked = 0, wrong = 0, offline = 0, stale = 0;
    double worst_gap_s = 0;
    std::map<std::string, std::uint64_t> totals;
    for (const auto& [serial, s] : stations) {
        for (const auto& [name, payloads] : s.states) {
            for (const auto& [payload, at] : payloads)
                for (const auto& [key, value] : payload.items()) {
                    ++checked;
                    if (answers.answered(serial, name, key, value)) continue;
                    if (++wrong <= 20)
                        std::fprintf(stderr, "WRONG VALUE %s %s.%s = %s\n", serial.c_str(), name.c_str(), key.c_str(),
                                     value.dump().c_str());
                }
            for (const auto& key : energy_keys) {
                std::vector<std::pair<double, Clock::time_point>> series;
                for (const auto& [payload, at] : payloads)
                    if (payload.contains(key) && payload[key].is_number()) series.push_back({payload[key].get<double>(), at});
                if (auto problem = counter_problem(series, kMaxPowerW)) {
                    ++wrong;
                    std::fprintf(stderr, "COUNTER %s %s.%s %s\n", serial.c_str(), name.c_str(), key.c_str(), problem->c_str());
                }
            }
        }
        const auto online = std::find(s.availability.begin(), s.availability.end(), "online");
        if (online == s.availability.end() || std::find(online, s.availability.end(), "offline") != s.availability.end()) ++offline;
        for (const char* key : {"polls", "timeouts", "unsolicited", "foreign_replies", "rejected_frames", "confirmations", "crc_errors"})
            if (s.diagnostics.is_object() && s.diagnostics[key].is_number()) totals[key] += s.diagnostics[key].get<std::uint64_t>();
    }
    const auto gaps = longest_block_gaps(log, 100);
    for (const auto& [serial, s] : stations) {
        const auto gap = gaps.find(serial);
        if (gap == gaps.end() || gap->second > 3.0 * options.interval) ++stale;
        if (gap != gaps.end()) worst_gap_s = std::max(worst_gap_s, gap->second);
    }

    std::printf("\nstations %zu of %zu seen; values checked %llu, wrong %llu; stations that went offline %llu\n", stations.size(),
                options.devices, static_cast<unsigned long long>(checked), static_cast<unsigned long long>(wrong),
                static_cast<unsigned long long>(offline));
    std::printf("longest gap between two takes of block 100 of one station: %.1f s (limit %d s); stations over it: %llu\n", worst_gap_s,
                3 * options.interval, static_cast<unsigned long long>(stale));
    std::printf("totals from the diagnostics:");
    for (const auto& [key, n] : totals) std::printf(" %s=%llu", key.c_str(), static_cast<unsigned long long>(n));
    std::printf("\nbridge log: %zu warnings, %zu errors, %zu reads given up unconfirmed\n", count_of(log, "[warning]"),
                count_of(log, "[error]") + count_of(log, "[critical]"), count_of(log, "replies agreed"));
    const bool ok =
        alive && bridge_status == 0 && wrong == 0 && checked > 0 && offline == 0 && stale == 0 && stations.size() == options.devices;
    std::printf("verdict: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
