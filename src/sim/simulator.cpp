#include "sim/simulator.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "bluetti/event_loop.hpp"
#include "bluetti/log.hpp"
#include "bluetti/mqtt/session.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/registry.hpp"
#include "sim/answers_log.hpp"
#include "sim/rest_server.hpp"

namespace bluetti::sim {

namespace {

constexpr auto kReconnectDelay = std::chrono::seconds(1);
constexpr auto kStatusEvery = std::chrono::seconds(10);

std::shared_ptr<spdlog::logger> logger() {
    return log::get("sim");
}

std::string random_client_id(const char* prefix) {
    std::random_device rd;
    char text[48];
    std::snprintf(text, sizeof text, "%s-%08x%08x", prefix, rd(), rd());
    return text;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::stringstream buffer;
    buffer << in.rdbuf();
    out = buffer.str();
    return true;
}

// SIGINT/SIGTERM as a file descriptor the loop watches: no handler, no flag polling.
class SignalFd {
public:
    SignalFd() {
        sigemptyset(&mask_);
        sigaddset(&mask_, SIGINT);
        sigaddset(&mask_, SIGTERM);
        // Blocked before any other thread exists, so every thread inherits the mask.
        pthread_sigmask(SIG_BLOCK, &mask_, nullptr);
        fd_ = signalfd(-1, &mask_, SFD_CLOEXEC | SFD_NONBLOCK);
    }
    ~SignalFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    SignalFd(const SignalFd&) = delete;
    SignalFd& operator=(const SignalFd&) = delete;
    int fd() const { return fd_; }
    int take() const {
        signalfd_siginfo info{};
        return ::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info) ? static_cast<int>(info.ssi_signo) : 0;
    }

private:
    sigset_t mask_{};
    int fd_ = -1;
};

class Simulator {
public:
    Simulator(const SimOptions& options, EventLoop& loop) : o_(options), loop_(loop), session_(loop, "sim") {}

    bool start(std::string& error);
    void shutdown();

private:
    const SimOptions& o_;
    EventLoop& loop_;
    std::vector<std::unique_ptr<SimDevice>> devices_;
    std::map<std::string, SimDevice*> by_topic_;
    mqtt::Session session_;
    std::unique_ptr<mqtt::Session> kicker_;
    std::unique_ptr<RestServer> rest_;
    std::unique_ptr<AppClient> app_;
    std::string client_id_ = random_client_id("bluetti-sim");
    std::set<int> pending_subscriptions_;
    AnswersLog answers_;
    bool ready_ = false;
    bool reconnect_pending_ = false;
    bool stopping_ = false;

    bool create_devices(std::string& error);
    bool start_rest(std::string& error);
    mqtt::Options broker_options(const std::string& client_id) const;
    bool connect(std::string& error);
    void schedule_reconnect(const std::string& why);
    void on_connect(int rc, const std::string& reason);
    void on_subscribe(int mid, const std::vector<int>& granted);
    void on_message(const std::string& topic, ByteSpan payload, bool retained);
    void publish(const std::string& topic, const Bytes& payload);
    void every(std::chrono::milliseconds period, std::function<void()> work);
    void push_all();
    void kick();
    void start_app_client();
    void become_ready();
    void log_status(const char* when) const;
};

bool Simulator::create_devices(std::string& error) {
    auto profiles = profile::ProfileSet::builtin();
    if (!profiles) {
        error = profiles.error().message;
        return false;
    }
    auto schemas = schema::SchemaRegistry::builtin();
    if (!schemas) {
        error = schemas.error().message;
        return false;
    }
    // --frozen: a clock stopped at this instant, so the model neither moves nor integrates and every
    // value, energy counters and RSSI included, stays what it was at start-up.
    const TimePoint start = std::chrono::system_clock::now();
    const SimDevice::Clock clock =
        o_.frozen ? SimDevice::Clock([start] { return start; }) : SimDevice::Clock([] { return std::chrono::system_clock::now(); });
    if (o_.frozen) logger()->info("--frozen: every device's clock stands still at start-up; only writes change a value");
    for (const DeviceSpec& spec : o_.devices) {
        auto device = SimDevice::create(spec, *profiles, *schemas, clock, o_.seed, o_.faults);
        if (!device) {
            error = device.error();
            return false;
        }
        const std::string topic = (*device)->identity().request_topic();
        if (by_topic_.count(topic)) {
            error = "two devices share the topic " + topic;
            return false;
        }
        by_topic_[topic] = device->get();
        logger()->info("device {} ({}): sn {} subSn {}, listens on {}, answers on {}", (*device)->identity().profile,
                       (*device)->identity().model_code, (*device)->identity().sn, (*device)->identity().sub_sn, topic,
                       (*device)->identity().reply_topic());
        devices_.push_back(std::move(*device));
    }
    return true;
}

bool Simulator::start_rest(std::string& error) {
    if (!o_.rest) return true;
    const RestOptions& r = *o_.rest;
    RestConfig config;
    config.account = r.account;
    config.uid = r.uid;
    config.pfx_password = r.pfx_password;
    config.iot_server = r.iot_server;
    config.token_ttl_s = r.token_ttl_s;
    if (!read_file(r.pfx_file, config.pfx)) {
        error = "cannot read the PKCS#12 file " + r.pfx_file;
        return false;
    }
    for (const auto& d : devices_) config.devices.push_back(d->identity());
    const auto now_ms = [] {
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    };
    rest_ = std::make_unique<RestServer>(std::make_shared<RestApi>(std::move(config), now_ms, o_.seed));
    if (!rest_->start(r.cert_file, r.key_file, r.port, error)) return false;
    logger()->info("REST stand-in listening on https://127.0.0.1:{}", rest_->port());
    return true;
}

mqtt::Options Simulator::broker_options(const std::string& client_id) const {
    mqtt::Options m;
    m.host = o_.broker.host;
    m.port = o_.broker.port;
    m.client_id = client_id;
    m.keepalive_s = 30;
    m.tls = !o_.ca_file.empty() || !o_.cert_file.empty();
    m.ca_file = o_.ca_file;
    m.cert_file = o_.cert_file;
    m.key_file = o_.key_file;
    return m;
}

bool Simulator::connect(std::string& error) {
    session_.set_handlers({
        .on_connect = [this](int rc, const std::string& reason) { on_connect(rc, reason); },
        .on_disconnect = [this](int, const std::string& reason) { schedule_reconnect("connection lost: " + reason); },
        .on_message = [this](const std::string& topic, ByteSpan payload, bool retained) { on_message(topic, payload, retained); },
        .on_subscribe = [this](int mid, const std::vector<int>& granted) { on_subscribe(mid, granted); },
        .on_publish = nullptr,
    });
    pending_subscriptions_.clear();
    return session_.connect(broker_options(client_id_), error);
}

void Simulator::schedule_reconnect(const std::string& why) {
    if (stopping_ || reconnect_pending_) return;
    logger()->warn("broker {}:{}: {}; reconnecting in {} s", o_.broker.host, o_.broker.port, why, kReconnectDelay.count());
    reconnect_pending_ = true;
    loop_.after(kReconnectDelay, [this] {
        reconnect_pending_ = false;
        std::string error;
        if (!connect(error)) schedule_reconnect(error);
    });
}

void Simulator::on_connect(int rc, const std::string& reason) {
    if (rc != 0) {
        schedule_reconnect("connect failed: " + reason);
        return;
    }
    logger()->info("connected to {}:{} as {}", o_.broker.host, o_.broker.port, client_id_);
    for (const auto& [topic, device] : by_topic_) {
        const int mid = session_.subscribe(topic, 1);
        if (mid < 0) {
            schedule_reconnect("cannot subscribe " + topic);
            return;
        }
        pending_subscriptions_.insert(mid);
    }
}

void Simulator::on_subscribe(int mid, const std::vector<int>& granted) {
    if (!pending_subscriptions_.erase(mid)) return;
    for (const int qos : granted)
        if (qos >= 0x80) logger()->error("the broker refused a subscription (SUBACK 0x{:02x})", qos);
    if (pending_subscriptions_.empty() && !ready_) become_ready();
}

void Simulator::become_ready() {
    ready_ = true;
    if (!o_.ready_file.empty()) {
        std::string text = "ready\n";
        if (rest_) text += "rest_port=" + std::to_string(rest_->port()) + "\n";
        const std::string temp = o_.ready_file + ".tmp";
        std::ofstream(temp) << text;
        if (std::rename(temp.c_str(), o_.ready_file.c_str()) != 0)
            logger()->error("cannot write {}: {}", o_.ready_file, std::strerror(errno));
    }
    logger()->info("ready: {} device(s) subscribed{}", devices_.size(),
                   rest_ ? ", REST on https://127.0.0.1:" + std::to_string(rest_->port()) : std::string());
}

void Simulator::on_message(const std::string& topic, ByteSpan payload, bool retained) {
    auto it = by_topic_.find(topic);
    if (it == by_topic_.end()) return;
    SimDevice& device = *it->second;
    if (retained) {
        logger()->warn("{}: ignored a retained message on {}", device.identity().sn, topic);
        return;
    }
    Exchange ex = device.handle(payload);
    if (ex.forbidden_write) {
        logger()->error("FORBIDDEN WRITE to {} ({}): {} — the bridge must never send this (forbidden_writes={})", device.identity().sn,
                        device.identity().profile, ex.summary, device.counters().forbidden_writes);
    } else {
        logger()->debug("{}: {}", device.identity().sn, ex.summary);
    }
    if (!ex.reply) return;
    answers_.answered(device, payload, *ex.reply);
    const std::string reply_topic = device.identity().reply_topic();
    if (ex.delay.count() > 0) {
        loop_.after(ex.delay, [this, reply_topic, reply = std::move(*ex.reply)] { publish(reply_topic, reply); });
    } else {
        publish(reply_topic, *ex.reply);
    }
}

void Simulator::publish(const std::string& topic, const Bytes& payload) {
    if (session_.publish(topic, ByteSpan(payload), 1, false) < 0) logger()->warn("cannot publish on {} (not connected)", topic);
}

void Simulator::every(std::chrono::milliseconds period, std::function<void()> work) {
    loop_.after(period, [this, period, work = std::move(work)]() mutable {
        work();
        every(period, std::move(work));
    });
}

void Simulator::push_all() {
    if (!session_.connected()) return;
    for (const auto& device : devices_)
        for (const Bytes& push : device->pushes()) {
            answers_.pushed(*device, push);
            publish(device->identity().reply_topic(), push);
        }
}

void Simulator::kick() {
    if (!kicker_) {
        kicker_ = std::make_unique<mqtt::Session>(loop_, "sim");
        kicker_->set_handlers({
            .on_connect =
                [this](int rc, const std::string& reason) {
                    if (rc != 0) {
                        logger()->warn("kick: connect as '{}' failed: {}", o_.kick_client_id, reason);
                        return;
                    }
                    logger()->info("kick: connected as '{}'; the broker drops the older session of that id; disconnecting",
                                   o_.kick_client_id);
                    loop_.after(std::chrono::milliseconds(0), [this] { kicker_->disconnect(); });
                },
            .on_disconnect = nullptr,
            .on_message = nullptr,
            .on_subscribe = nullptr,
            .on_publish = nullptr,
        });
    }
    std::string error;
    if (!kicker_->connect(broker_options(o_.kick_client_id), error)) logger()->warn("kick: cannot connect: {}", error);
}

// A second session with a client id of its own, like the vendor app on the same account.
void Simulator::start_app_client() {
    std::vector<SimDevice*> devices;
    for (const auto& d : devices_) devices.push_back(d.get());
    app_ =
        std::make_unique<AppClient>(loop_, broker_options(random_client_id("bluetti-sim-app")), std::move(devices), *o_.app_reads, o_.seed);
    app_->start();
}

void Simulator::log_status(const char* when) const {
    DeviceCounters total;
    for (const auto& d : devices_) {
        const DeviceCounters& c = d->counters();
        total.requests += c.requests;
        total.replies += c.replies;
        total.unanswered += c.unanswered;
        total.exceptions += c.exceptions;
        total.writes += c.writes;
        total.forbidden_writes += c.forbidden_writes;
        total.pushes += c.pushes;
    }
    const auto level = total.forbidden_writes ? spdlog::level::err : spdlog::level::info;
    logger()->log(level,
                  "status{}: requests={} replies={} unanswered={} exceptions={} writes={} pushes={} forbidden_writes={} app_reads={}", when,
                  total.requests, total.replies, total.unanswered, total.exceptions, total.writes, total.pushes, total.forbidden_writes,
                  app_ ? app_->reads_sent() : 0);
}

bool Simulator::start(std::string& error) {
    if (!create_devices(error) || !start_rest(error)) return false;
    if (!o_.answers_log.empty() && !answers_.open(o_.answers_log, error)) return false;
    if (!connect(error)) {
        error = "cannot connect to the broker: " + error;
        return false;
    }
    if (o_.push_every.count() > 0) every(o_.push_every, [this] { push_all(); });
    if (o_.kick_every.count() > 0) every(o_.kick_every, [this] { kick(); });
    if (o_.app_reads) start_app_client();
    every(kStatusEvery, [this] { log_status(""); });
    return true;
}

void Simulator::shutdown() {
    stopping_ = true;
    log_status(" at exit");
    session_.disconnect();
    if (kicker_) kicker_->disconnect();
    if (app_) app_->stop();
    if (rest_) rest_->stop();
}

}  // namespace

int run_simulator(const SimOptions& options) {
    SignalFd signals;
    if (signals.fd() < 0) {
        logger()->error("signalfd: {}", std::strerror(errno));
        return 1;
    }
    ::signal(SIGPIPE, SIG_IGN);  // a peer closing a TLS socket must not end the program
    EventLoop loop;
    Simulator sim(options, loop);
    std::string error;
    if (!sim.start(error)) {
        logger()->error("{}", error);
        sim.shutdown();
        return 2;
    }
    loop.watch(signals.fd(), POLLIN, [&](short) {
        const int signo = signals.take();
        if (signo == 0) return;
        logger()->info("{}: shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
        loop.stop();
    });
    const bool clean = loop.run();  // false: a callback threw (the loop logged it)
    sim.shutdown();
    return clean ? 0 : 70;
}

}  // namespace bluetti::sim
