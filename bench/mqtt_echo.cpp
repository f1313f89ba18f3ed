// bench/mqtt_echo: the far end of bench_roundtrip's raw-MQTT baseline. A plain libmosquitto client,
// with no bluetti code in it, that answers every request on one topic with a reply on another, QoS 1
// both ways, as a power station behind the Bluetti broker does. It does no framing, no CRC and no
// decoding, so the round trip through it is the floor that the broker, TLS and libmosquitto set.
// It runs as its own process, as bluetti-sim does, so each side of both round trips has its own
// scheduler entity and the benchmark's getrusage() counts only the requesting side.
//
// Request payload: bytes 0..3 a sequence number, bytes 4..5 the reply size (big-endian), then filler.
// Reply: the same four sequence bytes, then zeros up to the asked size (at least 4).
//
//   bench_mqtt_echo --broker HOST:PORT --ca F --cert F --key F --request-topic T --reply-topic T --ready-file P
//
// Started and stopped (SIGTERM, by PID) by bench_roundtrip. Writes "ready\n" to the ready file once
// subscribed (write, then rename, as bluetti-sim does). Exit status 0 after SIGTERM or SIGINT.
#include <mosquitto.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;

// Only sets state (docs/style.md #8): the loop below sees it when select() returns EINTR.
void on_signal(int) {
    g_stop = 1;
}

struct Options {
    std::string host;
    int port = 0;
    std::string ca, cert, key;
    std::string request_topic, reply_topic;
    std::string ready_file;
};

struct State {
    const Options* options = nullptr;
    std::vector<std::uint8_t> reply;
    int subscribe_mid = -1;
};

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "bench_mqtt_echo: %s\n", message.c_str());
    std::exit(1);
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        const std::string value = argv[i + 1];
        if (arg == "--broker") {
            const auto colon = value.rfind(':');
            if (colon == std::string::npos) die("--broker needs HOST:PORT");
            o.host = value.substr(0, colon);
            o.port = std::atoi(value.c_str() + colon + 1);
        } else if (arg == "--ca")
            o.ca = value;
        else if (arg == "--cert")
            o.cert = value;
        else if (arg == "--key")
            o.key = value;
        else if (arg == "--request-topic")
            o.request_topic = value;
        else if (arg == "--reply-topic")
            o.reply_topic = value;
        else if (arg == "--ready-file")
            o.ready_file = value;
        else
            die("unknown option " + std::string(arg));
    }
    if (argc % 2 == 0 || o.host.empty() || o.request_topic.empty() || o.reply_topic.empty() || o.ready_file.empty())
        die("usage: bench_mqtt_echo --broker HOST:PORT [--ca F --cert F --key F] --request-topic T --reply-topic T --ready-file P");
    return o;
}

void on_connect(mosquitto* mosq, void* self, int rc) {
    auto* s = static_cast<State*>(self);
    if (rc != 0) die(std::string("connect refused: ") + mosquitto_connack_string(rc));
    if (mosquitto_subscribe(mosq, &s->subscribe_mid, s->options->request_topic.c_str(), 1) != MOSQ_ERR_SUCCESS) die("cannot subscribe");
}

void on_subscribe(mosquitto*, void* self, int mid, int count, const int* granted) {
    auto* s = static_cast<State*>(self);
    if (mid != s->subscribe_mid) return;
    if (count != 1 || granted[0] > 2) die("subscription refused");
    const std::string temp = s->options->ready_file + ".tmp";
    std::ofstream(temp) << "ready\n";
    if (std::rename(temp.c_str(), s->options->ready_file.c_str()) != 0) die("cannot write " + s->options->ready_file);
}

void on_message(mosquitto* mosq, void* self, const mosquitto_message* m) {
    auto* s = static_cast<State*>(self);
    if (m->payloadlen < 6) return;  // not a bench request
    const auto* in = static_cast<const std::uint8_t*>(m->payload);
    const std::size_t size = std::max<std::size_t>(4, static_cast<std::size_t>(in[4] << 8 | in[5]));
    s->reply.assign(size, 0);
    std::memcpy(s->reply.data(), in, 4);
    const int rc = mosquitto_publish(mosq, nullptr, s->options->reply_topic.c_str(), static_cast<int>(size), s->reply.data(), 1, false);
    if (rc != MOSQ_ERR_SUCCESS) die(std::string("publish: ") + mosquitto_strerror(rc));
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    struct sigaction action {};
    action.sa_handler = on_signal;  // no SA_RESTART: select() must return so the loop sees g_stop
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);

    mosquitto_lib_init();
    State state;
    state.options = &options;
    mosquitto* mosq = mosquitto_new(nullptr, true, &state);
    if (!mosq) die("mosquitto_new failed");
    // The same protocol version and socket options as bluetti::mqtt::Session (TCP_NODELAY on),
    // so both round trips speak alike.
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    if (!options.ca.empty()) {
        const int rc = mosquitto_tls_set(mosq, options.ca.c_str(), nullptr, options.cert.empty() ? nullptr : options.cert.c_str(),
                                         options.key.empty() ? nullptr : options.key.c_str(), nullptr);
        if (rc != MOSQ_ERR_SUCCESS) die(std::string("TLS: ") + mosquitto_strerror(rc));
    }
    mosquitto_connect_callback_set(mosq, on_connect);
    mosquitto_subscribe_callback_set(mosq, on_subscribe);
    mosquitto_message_callback_set(mosq, on_message);
    if (mosquitto_connect(mosq, options.host.c_str(), options.port, 60) != MOSQ_ERR_SUCCESS) die("cannot connect to the broker");

    while (!g_stop) {
        const int rc = mosquitto_loop(mosq, 1000, 1);
        if (rc == MOSQ_ERR_ERRNO && errno == EINTR) continue;
        if (rc != MOSQ_ERR_SUCCESS) die(std::string("connection lost: ") + mosquitto_strerror(rc));
    }
    mosquitto_disconnect(mosq);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    return 0;
}
