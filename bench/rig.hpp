// What the end-to-end benches share (bench/e2e.cpp, bench/soak.cpp): the rig of the bridge's system
// tests with N simulated devices (a TLS cloud broker with client certificates, bluetti-sim with its
// REST stand-in in account mode, the bridge's config for the same devices), and what /proc says
// about a process and the machine. Everything on 127.0.0.1.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "mosquitto.hpp"
#include "net.hpp"
#include "temp_dir.hpp"
#include "test_certificates.hpp"

namespace bluetti::bench {

using namespace bluetti::systest;

inline constexpr const char* kModel = "EL100V2";
inline constexpr std::uint64_t kFirstSerial = 2345000000001;  // decimal, 13 digits: bluetti-sim's subSn is the same
inline constexpr const char* kEmail = "owner@example.com";
inline constexpr const char* kPassword = "correct horse";
inline constexpr auto kStartTimeout = std::chrono::seconds(30);

[[noreturn]] inline void die(const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, message.c_str());
    std::exit(1);
}

// Open file descriptors of `pid` (/proc/PID/fd).
inline std::size_t open_fds(pid_t pid) {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

inline std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
        const auto colon = line.find(':');
        if (line.rfind("model name", 0) == 0 && colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
    return "unknown";
}

inline std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return text;
}

// ---------------------------------------------------------------------------------------------
// What /proc says about a process and the machine.

// CPU of every thread of `pid`, in µs. /proc/PID/schedstat alone is the main thread's; its first
// field is exact ns, unlike the 10 ms ticks of /proc/PID/stat. A thread that ended in between is
// lost, but the bridge's only extra threads are libcurl's resolvers at login, before any window.
inline double process_cpu_us(pid_t pid) {
    double ns = 0;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream in(task.path() / "schedstat");
        double t = 0;
        if (in >> t) ns += t;
    }
    return ns / 1e3;
}

inline double self_cpu_us() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    const auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
    return us(u.ru_utime) + us(u.ru_stime);
}

// A "Key:  N kB" line of /proc/PID/<file> (status: VmRSS, VmHWM, RssAnon, RssFile; smaps_rollup:
// Pss, which shares the libraries' pages among the processes mapping them), in MB (2^20 bytes).
inline double proc_mb(pid_t pid, const std::string& file, const std::string& key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
    return 0;
}

// The machine's busy and total jiffies (first line of /proc/stat): how much of both CPUs everything
// else took while we measured.
inline std::pair<double, double> machine_jiffies() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    double v[8] = {};
    in >> cpu;
    for (double& x : v) in >> x;
    const double total = std::accumulate(std::begin(v), std::end(v), 0.0);
    return {total - v[3] - v[4], total};  // idle and iowait are not busy
}

// ---------------------------------------------------------------------------------------------
// The rig.

// bluetti-sim with N devices and the REST stand-in; returns the REST port from its ready file.
// `device_cert`: the simulator connects with certs.device_client_cert (for a broker ACL that tells
// the stations from the bridge).
inline int start_sim(ChildProcess& sim, const TempDir& dir, const Mosquitto& cloud, const TestCertificates& certs, std::size_t devices,
                     const std::vector<std::string>& extra_flags = {}, bool device_cert = false) {
    std::vector<std::string> args{"--broker",       cloud.address(),
                                  "--ca",           certs.ca_cert,
                                  "--cert",         device_cert ? certs.device_client_cert : certs.client_cert,
                                  "--key",          device_cert ? certs.device_client_key : certs.client_key,
                                  "--rest-port",    "0",
                                  "--rest-cert",    certs.server_cert,
                                  "--rest-key",     certs.server_key,
                                  "--account",      std::string(kEmail) + ":" + kPassword,
                                  "--pfx",          certs.pkcs12,
                                  "--pfx-password", certs.pkcs12_password,
                                  "--ready-file",   dir.file("sim.ready")};
    for (std::size_t i = 0; i < devices; ++i)
        args.insert(args.end(), {"--device", std::string(kModel) + ":" + std::to_string(kFirstSerial + i)});
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    ChildOptions o;
    o.stderr_file = dir.file("sim.log");
    std::string error;
    if (!sim.start(BLUETTI_SIM_BINARY, args, o, error)) die("bluetti-sim: " + error);
    const auto ready = wait_for_file(
        dir.file("sim.ready"), [](const std::string& t) { return t.rfind("ready\n", 0) == 0; }, kStartTimeout,
        [&] { return sim.running(); });
    const auto port = ready ? ready_file_value(*ready, "rest_port") : std::nullopt;
    if (!port) die("bluetti-sim did not get ready: " + sim.describe());
    return std::stoi(*port);
}

// The config of bridge_fixture.hpp's write_config for N devices, with the daemon's default request
// timeout and retries (the fixture's shorter ones are for fast failing tests).
inline std::string bridge_config(const TempDir& dir, const Mosquitto& cloud, const Mosquitto& local, const TestCertificates& certs,
                                 int rest_port, std::size_t devices, int core_seconds) {
    write_text_file(dir.file("password"), std::string(kPassword) + "\n");
    std::string c = std::string("cloud:\n  email: ") + kEmail + "\n  password_file: " + dir.file("password") +
                    "\n  api: https://127.0.0.1:" + std::to_string(rest_port) + "\n  broker: " + cloud.address() +
                    "\n  ca_file: " + certs.ca_cert +
                    "\n  reconnect_delay: 1s\n  request_timeout: 5s\n  retry: {attempts: 3, initial_delay: 1s}\n" +
                    "homeassistant:\n  broker: mqtt://127.0.0.1:" + std::to_string(local.port()) +
                    "\n  client_id: bridge-under-bench\n  state_delay: 1s\ndevices:\n";
    for (std::size_t i = 0; i < devices; ++i)
        c += "  - serial: \"" + std::to_string(kFirstSerial + i) + "\"\n    model: " + kModel + "\n    name: Bench " +
             std::to_string(i + 1) + "\n    poll: {core: " + std::to_string(core_seconds) + "s}\n";
    c += "state_dir: " + dir.file("state") + "\n";
    const std::string file = dir.file("config.yaml");
    if (!write_text_file(file, c)) die("cannot write " + file);
    return file;
}

}  // namespace bluetti::bench
