// bench/roundtrip: how long one block read takes through a real TLS broker, and how much of that our
// client and the simulator add on top of what MQTT alone costs (issue 3).
//
// One run sets up, on 127.0.0.1 only and in a private temporary directory:
//   - test certificates (tests/system/support: a CA, server and client certificates, a PKCS#12);
//   - a mosquitto broker with TLS that requires client certificates, as the system tests use;
//   - bluetti-sim with one EL100V2, and bench_mqtt_echo (bench/mqtt_echo.cpp), a plain libmosquitto
//     client that answers every request with a reply of the asked size.
// Then, per block (1300 and 100), it times:
//   client+sim  bluetti::Client::read_block(block) in certificate mode: V2 envelope and RTU request,
//               publish, bluetti-sim's answer, CRC, frame and schema decode of the reply;
//   raw mqtt    a plain libmosquitto client in this process publishes a request of the same size and
//               waits for bench_mqtt_echo's reply of the same size as the device's: QoS 1 both
//               ways, same broker, same TLS, no bluetti code on either side.
// Each path runs W warm-up round trips (not counted), then N timed ones. The two paths alternate in
// chunks of kChunk, so a burst of load on this shared machine hits both alike, not one of them.
// The difference of the two is what our client and the simulator add.
//
// CPU per round trip: this process by getrusage(RUSAGE_SELF), so the client's or the raw requester's
// share; the peer (bluetti-sim or bench_mqtt_echo) and the broker by /proc/PID/schedstat (ns on CPU).
// On a plain loopback every round trip of both paths carries about 88 ms of TCP stalls (Nagle's
// algorithm waiting for delayed ACKs, see print_report); docs/performance.md shows how to run it in
// a private network namespace without them, where the microseconds of processing become visible.
// Not a test: nothing here asserts a time, and the program is not registered with ctest.
// docs/performance.md has the figures and the commands.
//
//   bench_roundtrip [--iterations N] [--warmup W] [--block 100|1300]
#include <mosquitto.h>
#include <openssl/crypto.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bluetti/client.hpp"
#include "bluetti/log.hpp"
#include "child_process.hpp"
#include "mosquitto.hpp"
#include "net.hpp"
#include "temp_dir.hpp"
#include "test_certificates.hpp"

#ifndef BLUETTI_BUILD_TYPE
#define BLUETTI_BUILD_TYPE "unknown"
#endif

namespace {

using namespace bluetti;
using namespace bluetti::systest;
using Clock = std::chrono::steady_clock;

constexpr const char* kModel = "EL100V2";
constexpr const char* kSerial = "2345000000002";  // a decimal serial: bluetti-sim's subSn is the same
// Topics of the raw path, as long as the device's SUB/EL100V2/… and PUB/EL100V2/…: same packet sizes.
constexpr const char* kRawRequestTopic = "SUB/RAWECHO/2345000000002";
constexpr const char* kRawReplyTopic = "PUB/RAWECHO/2345000000002";
constexpr std::size_t kChunk = 100;
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kReplyTimeout = std::chrono::seconds(5);

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "bench_roundtrip: %s\n", message.c_str());
    std::exit(1);
}

// ---------------------------------------------------------------------------------------------

struct Options {
    std::size_t iterations = 2000;
    std::size_t warmup = 200;
    std::optional<unsigned> block;
};

Options parse_options(int argc, char** argv) {
    Options o;
    unsigned block = 0;
    CLI::App app{"bench_roundtrip: a block read through a TLS broker beside a raw MQTT round trip (docs/performance.md)"};
    app.add_option("--iterations", o.iterations, "timed round trips per path and block")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--warmup", o.warmup, "untimed round trips first")->capture_default_str();
    auto* block_option = app.add_option("--block", block, "only this block")->check(CLI::IsMember({100u, 1300u}));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        std::exit(app.exit(e) == 0 ? 0 : 2);
    }
    if (block_option->count()) o.block = block;
    return o;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown";
}

// ---------------------------------------------------------------------------------------------
// CPU clocks, in µs.

double self_cpu_us() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    const auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
    return us(u.ru_utime) + us(u.ru_stime);
}

// Another process's time on a CPU: the first field of /proc/PID/schedstat, in ns. Unlike the tick
// counts of /proc/PID/stat it is exact, which matters for the few ms a chunk costs a child.
double process_cpu_us(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/schedstat");
    double ns = 0;
    in >> ns;
    return ns / 1e3;
}

struct CpuShare {
    double self = 0, peer = 0, broker = 0;  // µs summed over the timed round trips
};

// ---------------------------------------------------------------------------------------------
// Round-trip times of one path and their summary.

struct Stats {
    double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

// Nearest-rank percentiles: p99 of 2000 samples is the 1980th smallest, a value that was measured.
Stats summarize(std::vector<double> us) {
    std::sort(us.begin(), us.end());
    const auto rank = [&](double p) {
        const auto r = static_cast<std::size_t>(p / 100.0 * static_cast<double>(us.size()) + 0.999999);
        return us[std::clamp<std::size_t>(r, 1, us.size()) - 1];
    };
    return {rank(50), rank(90), rank(99), us.back(), std::accumulate(us.begin(), us.end(), 0.0) / static_cast<double>(us.size())};
}

struct Path {
    Path(const char* path_name, pid_t peer_pid) : name(path_name), peer(peer_pid) {}
    const char* name;
    pid_t peer;  // the process answering: bluetti-sim or bench_mqtt_echo
    std::vector<double> us;
    CpuShare cpu;
};

// Runs `count` round trips of `one`, appending each one's wall time, and adds the CPU the three
// processes spent meanwhile. The /proc reads stay outside the getrusage window.
template <class RoundTrip>
void run_chunk(Path& path, pid_t broker, std::size_t count, RoundTrip one) {
    const double peer0 = process_cpu_us(path.peer), broker0 = process_cpu_us(broker);
    const double self0 = self_cpu_us();
    for (std::size_t i = 0; i < count; ++i) {
        const auto start = Clock::now();
        one();
        const auto stop = Clock::now();
        path.us.push_back(std::chrono::duration<double, std::micro>(stop - start).count());
    }
    path.cpu.self += self_cpu_us() - self0;
    path.cpu.peer += process_cpu_us(path.peer) - peer0;
    path.cpu.broker += process_cpu_us(broker) - broker0;
}

// ---------------------------------------------------------------------------------------------
// The raw path's requester: libmosquitto driven by mosquitto_loop(), one request in flight. Socket
// options as mqtt::Session sets them (TCP_NODELAY): the baseline must have what our client has.

class RawRequester {
public:
    RawRequester() : mosq_(mosquitto_new(nullptr, true, this)) {
        if (!mosq_) die("mosquitto_new failed");
        mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);  // as mqtt::Session
        mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
        mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) { static_cast<RawRequester*>(self)->connack_ = rc; });
        mosquitto_subscribe_callback_set(
            mosq_, [](mosquitto*, void* self, int, int, const int* granted) { static_cast<RawRequester*>(self)->suback_ = granted[0]; });
        mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
            auto* r = static_cast<RawRequester*>(self);
            if (m->payloadlen >= 4 && std::memcmp(m->payload, r->request_.data(), 4) == 0) r->reply_size_ = m->payloadlen;
        });
    }
    ~RawRequester() { mosquitto_destroy(mosq_); }
    RawRequester(const RawRequester&) = delete;
    RawRequester& operator=(const RawRequester&) = delete;

    void connect(const Mosquitto& broker, const TestCertificates& certs) {
        if (mosquitto_tls_set(mosq_, certs.ca_cert.c_str(), nullptr, certs.client_cert.c_str(), certs.client_key.c_str(), nullptr) !=
            MOSQ_ERR_SUCCESS)
            die("raw requester: TLS set-up failed");
        if (mosquitto_connect(mosq_, broker.host().c_str(), broker.port(), 60) != MOSQ_ERR_SUCCESS) die("raw requester: cannot connect");
        loop_until([&] { return connack_ >= 0; }, "CONNACK");
        if (connack_ != 0) die(std::string("raw requester: ") + mosquitto_connack_string(connack_));
        if (mosquitto_subscribe(mosq_, nullptr, kRawReplyTopic, 1) != MOSQ_ERR_SUCCESS) die("raw requester: cannot subscribe");
        loop_until([&] { return suback_ >= 0; }, "SUBACK");
        if (suback_ > 2) die("raw requester: subscription refused");
    }

    // One request of `request_size` bytes (≥ 6) asking for a reply of `reply_size` bytes; returns
    // once the reply with this request's sequence number is in.
    void round_trip(std::size_t request_size, std::size_t reply_size) {
        ++sequence_;
        request_.assign(request_size, 0x5A);
        for (int i = 0; i < 4; ++i) request_[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sequence_ >> (24 - 8 * i));
        request_[4] = static_cast<std::uint8_t>(reply_size >> 8);
        request_[5] = static_cast<std::uint8_t>(reply_size);
        reply_size_ = -1;
        if (mosquitto_publish(mosq_, nullptr, kRawRequestTopic, static_cast<int>(request_.size()), request_.data(), 1, false) !=
            MOSQ_ERR_SUCCESS)
            die("raw requester: publish failed");
        loop_until([&] { return reply_size_ >= 0; }, "the echo's reply");
        if (static_cast<std::size_t>(reply_size_) != reply_size) die("raw requester: reply of the wrong size");
    }

private:
    mosquitto* mosq_;
    int connack_ = -1;
    int suback_ = -1;
    int reply_size_ = -1;
    std::uint32_t sequence_ = 0;
    std::vector<std::uint8_t> request_;

    template <class Done>
    void loop_until(Done done, const char* what) {
        const auto deadline = Clock::now() + kReplyTimeout;
        while (!done()) {
            const int rc = mosquitto_loop(mosq_, 1000, 1);
            if (rc != MOSQ_ERR_SUCCESS) die(std::string("raw requester: ") + mosquitto_strerror(rc));
            if (Clock::now() > deadline) die(std::string("raw requester: no ") + what);
        }
    }
};

// ---------------------------------------------------------------------------------------------
// The processes: broker, bluetti-sim, bench_mqtt_echo.

void start_child(ChildProcess& child, const TempDir& dir, const std::string& name, const std::string& program,
                 std::vector<std::string> args) {
    const std::string ready = dir.file(name + ".ready");
    args.insert(args.end(), {"--ready-file", ready});
    ChildOptions o;
    o.stderr_file = dir.file(name + ".log");
    std::string error;
    if (!child.start(program, args, o, error)) die(name + ": " + error);
    auto text = wait_for_file(
        ready, [](const std::string& t) { return t.rfind("ready\n", 0) == 0; }, kStartTimeout, [&] { return child.running(); });
    if (!text) die(name + " did not get ready: " + child.describe());
}

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty()) die("cannot read " + path);
    return bytes;
}

ClientOptions client_options(const Mosquitto& broker, const TestCertificates& certs) {
    ClientOptions o;  // certificate mode: no REST call, everything from here
    o.pkcs12 = read_file(certs.pkcs12);
    o.pkcs12_password = certs.pkcs12_password;
    o.mqtt_username = "tid:bench";  // the broker takes the certificate's identity and ignores these
    o.mqtt_password = "x";
    o.model = kModel;
    o.serial = kSerial;
    o.sub_sn = kSerial;
    o.broker = broker.address();
    o.ca_file = certs.ca_cert;
    o.client_id = "bench-roundtrip";
    return o;
}

// ---------------------------------------------------------------------------------------------

struct Row {
    Row(unsigned block_number, pid_t sim, pid_t echo) : block(block_number), client("client+sim", sim), raw("raw mqtt", echo) {}
    unsigned block;
    std::size_t request_bytes = 0, reply_bytes = 0;
    Path client, raw;
};

// A reply must be the block asked for and decode to something, or the time means nothing.
cloud::BlockData checked(unsigned block, Result<cloud::BlockData, cloud::ChannelError> r) {
    if (!r) die("read_block(" + std::to_string(block) + "): " + r.error().message);
    if (r->block != block || r->decoded.fields.empty()) die("read_block(" + std::to_string(block) + "): wrong or empty block");
    return std::move(*r);
}

Row measure(unsigned block, const Options& options, Client& client, RawRequester& raw, pid_t sim, pid_t echo, pid_t broker) {
    Row row(block, sim, echo);
    const auto block_id = static_cast<std::uint16_t>(block);
    const auto read = [&] { checked(block, client.read_block(block_id)); };
    const cloud::BlockData first = checked(block, client.read_block(block_id));  // the sizes the raw path copies
    row.request_bytes = first.request.size();
    row.reply_bytes = first.reply.size();
    if (row.request_bytes < 6) die("request too short for the raw path's header");
    const auto raw_once = [&] { raw.round_trip(row.request_bytes, row.reply_bytes); };

    Path scratch_client("warm-up", sim), scratch_raw("warm-up", echo);
    run_chunk(scratch_client, broker, options.warmup, read);
    run_chunk(scratch_raw, broker, options.warmup, raw_once);
    for (std::size_t done = 0; done < options.iterations; done += kChunk) {
        const std::size_t n = std::min(kChunk, options.iterations - done);
        run_chunk(row.client, broker, n, read);
        run_chunk(row.raw, broker, n, raw_once);
    }
    return row;
}

void print_line(unsigned block, const char* name, const std::string& sizes, const Stats& s, const CpuShare& cpu, double n) {
    std::printf("%5u  %-10s  %9s  %7.1f  %7.1f  %7.1f  %8.1f  %7.1f  | %6.1f  %6.1f  %6.1f\n", block, name, sizes.c_str(), s.p50, s.p90,
                s.p99, s.max, s.mean, cpu.self / n, cpu.peer / n, cpu.broker / n);
}

void print_report(const Options& options, const std::vector<Row>& rows, const cloud::ChannelStats& stats) {
#ifdef NDEBUG
    const char* asserts = "NDEBUG";
#else
    const char* asserts = "asserts on";
#endif
    int major = 0, minor = 0, revision = 0;
    mosquitto_lib_version(&major, &minor, &revision);
    std::printf("bench/roundtrip  cpu: %s (%u logical CPUs)  build: %s, g++ %s, %s\n", cpu_model().c_str(),
                std::thread::hardware_concurrency(), BLUETTI_BUILD_TYPE, __VERSION__, asserts);
    std::printf("mosquitto broker on 127.0.0.1, TLS 1.2 with client certificates; libmosquitto %d.%d.%d; %s\n", major, minor, revision,
                OpenSSL_version(OPENSSL_VERSION));
    std::printf(
        "%zu round trips per path and block after %zu warm-up, alternating in chunks of %zu; QoS 1 both ways; %s %s in bluetti-sim\n\n",
        options.iterations, options.warmup, kChunk, kModel, kSerial);
    std::printf("%5s  %-10s  %9s  %7s  %7s  %7s  %8s  %7s  | %-22s\n", "block", "path", "req/reply", "p50", "p90", "p99", "max", "mean",
                "CPU per round trip");
    std::printf("%5s  %-10s  %9s  %7s  %7s  %7s  %8s  %7s  | %6s  %6s  %6s\n", "", "", "bytes", "µs", "µs", "µs", "µs", "µs", "bench",
                "peer", "broker");
    bool stalled = false;
    for (const Row& r : rows) {
        const Stats client = summarize(r.client.us), raw = summarize(r.raw.us);
        const double n = static_cast<double>(r.client.us.size());
        const std::string sizes = std::to_string(r.request_bytes) + "/" + std::to_string(r.reply_bytes);
        print_line(r.block, r.client.name, sizes, client, r.client.cpu, n);
        print_line(r.block, r.raw.name, sizes, raw, r.raw.cpu, n);
        const Stats diff{client.p50 - raw.p50, client.p90 - raw.p90, client.p99 - raw.p99, client.max - raw.max, client.mean - raw.mean};
        const CpuShare cpu{r.client.cpu.self - r.raw.cpu.self, r.client.cpu.peer - r.raw.cpu.peer, r.client.cpu.broker - r.raw.cpu.broker};
        print_line(r.block, "difference", "", diff, cpu, n);
        stalled = stalled || client.p50 > 20'000 || raw.p50 > 20'000;
    }
    std::printf(
        "\nCPU: bench = this process (getrusage), i.e. bluetti::Client or the raw requester; peer = bluetti-sim or "
        "bench_mqtt_echo;\nbroker = mosquitto (both by /proc/PID/schedstat). difference = client+sim minus raw mqtt, "
        "statistic by statistic.\n");
    std::printf("client channel: requests=%llu replies=%llu timeouts=%llu retries=%llu bad_frames=%llu decode_errors=%llu\n",
                static_cast<unsigned long long>(stats.requests), static_cast<unsigned long long>(stats.replies),
                static_cast<unsigned long long>(stats.timeouts), static_cast<unsigned long long>(stats.retries),
                static_cast<unsigned long long>(stats.bad_frames), static_cast<unsigned long long>(stats.decode_errors));
    if (stats.timeouts || stats.retries) std::printf("warning: the client retried: its max and p99 include a request timeout\n");
    // The clients set TCP_NODELAY, but a broker without `set_tcp_nodelay true` still lets Nagle hold
    // its second write until the delayed ACK of the first (≥ 40 ms on Linux), on both paths alike.
    // Milliseconds here are those stalls, not processing.
    if (stalled)
        std::printf(
            "warning: round trips of tens of ms are TCP stalls (Nagle + delayed ACK), not processing; "
            "docs/performance.md, \"Cloud round trip\", shows how to run without them\n");
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    log::set_level("warn");  // the client's connect chatter would mix into the table
    if (!Mosquitto::available() || !TestCertificates::available()) die("needs mosquitto (" + Mosquitto::binary() + ") and openssl");

    TempDir dir("bluetti-bench");
    TestCertificates certs;
    CertificateOptions cert_options;
    cert_options.pkcs12 = true;
    std::string error;
    if (!certs.generate(dir.file("pki"), cert_options, error)) die(error);

    Mosquitto broker(tls_broker_options(certs));
    if (!broker.start(dir.path(), error)) die(error);
    ChildProcess sim, echo;
    start_child(sim, dir, "sim", BLUETTI_SIM_BINARY,
                {"--broker", broker.address(), "--ca", certs.ca_cert, "--cert", certs.client_cert, "--key", certs.client_key, "--device",
                 std::string(kModel) + ":" + kSerial});
    start_child(echo, dir, "echo", BLUETTI_MQTT_ECHO_BINARY,
                {"--broker", broker.address(), "--ca", certs.ca_cert, "--cert", certs.client_cert, "--key", certs.client_key,
                 "--request-topic", kRawRequestTopic, "--reply-topic", kRawReplyTopic});

    Client client(client_options(broker, certs));
    if (auto connected = client.connect(); !connected) die("client: " + connected.error());
    RawRequester raw;
    raw.connect(broker, certs);

    std::vector<Row> rows;
    for (const unsigned block : {1300u, 100u})
        if (!options.block || *options.block == block)
            rows.push_back(measure(block, options, client, raw, sim.pid(), echo.pid(), broker.process().pid()));
    const cloud::ChannelStats stats = client.stats();
    client.disconnect();
    print_report(options, rows, stats);

    // Stopped by their own PIDs (docs/style.md #15); a non-zero status means a child misbehaved. die()
    // exits without unwinding, so the TempDir and its logs stay for a look.
    const int sim_status = sim.stop(), echo_status = echo.stop();
    if (sim_status != 0 || echo_status != 0)
        die("children: bluetti-sim exited " + std::to_string(sim_status) + ", bench_mqtt_echo " + std::to_string(echo_status) +
            " (logs kept in " + dir.path() + ")");
    return 0;
}
