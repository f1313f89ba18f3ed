// bluetti-sim end to end: a real mosquitto on 127.0.0.1, bluetti-sim as a child process, and our
// own MQTT client playing the bridge. Readiness by the sim's ready file and by connecting; every
// process stopped by its own PID. Exit code 77 (ctest: skipped) without mosquitto or openssl.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <httplib.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "bluetti/cloud/auth.hpp"
#include "bluetti/codec/crc.hpp"
#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "child_process.hpp"
#include "mosquitto.hpp"
#include "mqtt_test_client.hpp"
#include "net.hpp"
#include "temp_dir.hpp"
#include "test_certificates.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const auto kTimeout = 20s;  // generous: the sanitizer build is slow

std::string sim_binary() {
    const char* env = std::getenv("BLUETTI_SIM");
    return env && *env ? env : BLUETTI_SIM_BINARY;
}

// Starts bluetti-sim with `args` plus --ready-file, and waits for "ready".
struct Sim {
    ChildProcess process;
    std::string ready_text;

    void start(const TempDir& dir, std::vector<std::string> args) {
        const std::string ready = dir.file("sim.ready");
        args.insert(args.end(), {"--ready-file", ready, "-v"});
        ChildOptions o;
        o.stderr_file = dir.file("sim.log");
        std::string error;
        REQUIRE_MESSAGE(process.start(sim_binary(), args, o, error), error);
        auto text = wait_for_file(
            ready, [](const std::string& t) { return t.rfind("ready\n", 0) == 0; }, kTimeout, [this] { return process.running(); });
        REQUIRE_MESSAGE(text.has_value(), "bluetti-sim did not get ready: " << process.describe());
        ready_text = *text;
    }
};

Bytes frame(std::initializer_list<std::uint8_t> head) {
    Bytes f(head);
    codec::append_crc(f);
    return f;
}

struct Parsed {
    Bytes payload;
    codec::Frame frame{};
};
Parsed parse(const MqttMessage& m) {
    Parsed p;
    p.payload = m.payload;
    auto unwrapped = codec::unwrap(p.payload);
    REQUIRE_MESSAGE(unwrapped.ok(), (unwrapped.ok() ? "" : unwrapped.error().message));
    auto f = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
    REQUIRE(f.ok());
    p.frame = *f;
    return p;
}

const schema::BlockSchema& schema_of(const std::string& profile, std::uint16_t block) {
    static const auto profiles = profile::ProfileSet::builtin();
    static const auto builtin = schema::SchemaRegistry::builtin();
    static std::map<std::string, schema::SchemaRegistry> per_profile;
    REQUIRE(profiles.ok());
    REQUIRE(builtin.ok());
    auto it = per_profile.find(profile);
    if (it == per_profile.end()) {
        auto own = builtin->with_overrides(profiles->find(profile)->overrides);
        REQUIRE(own.ok());
        it = per_profile.emplace(profile, std::move(*own)).first;
    }
    return *it->second.find(block);
}

// One PKI for the whole run: RSA key generation is the slow part, and doctest enters a test case
// once per SUBCASE.
const TestCertificates& shared_certificates() {
    static TempDir dir("bluetti-sim-pki");
    static TestCertificates certs;
    static std::string error;
    static const bool ok = [] {
        CertificateOptions co;
        co.expired_client = true;
        co.other_ca = true;
        co.pkcs12 = true;
        return certs.generate(dir.path(), co, error);
    }();
    REQUIRE_MESSAGE(ok, error);
    return certs;
}

}  // namespace

TEST_CASE("bluetti-sim answers a V2 read of block 100 on a real broker") {
    TempDir dir("bluetti-sim-smoke");
    Mosquitto broker;
    std::string error;
    REQUIRE_MESSAGE(broker.start(dir.path(), error), error);

    Sim sim;
    sim.start(dir, {"--broker", broker.address(), "--device", "EL100V2:SIMSMOKE0001:1234567890123", "--seed", "5"});
    CHECK(sim.ready_text == "ready\n");  // no REST: no rest_port line

    MqttTestClient bridge;
    mqtt::Options o;
    o.port = broker.port();
    o.client_id = "smoke-bridge";
    REQUIRE_MESSAGE(bridge.connect(o, kTimeout, error), error);
    REQUIRE(bridge.subscribe("PUB/EL100V2/1234567890123", kTimeout));

    // docs/protocol.md §3: read 100 × 62 at slave 0, V2 envelope
    const Bytes read100 = codec::wrap(codec::Envelope::v2, 100, frame({0x00, 0x03, 0x00, 0x64, 0x00, 0x3E}));
    REQUIRE(to_hex(read100) == "01f80f0064000000000000030064003e8414");
    REQUIRE(bridge.publish("SUB/EL100V2/1234567890123", read100));
    auto reply = bridge.wait_message("PUB/EL100V2/1234567890123", kTimeout);
    REQUIRE_MESSAGE(reply.has_value(), "no reply; " << sim.process.describe());
    const Parsed p = parse(*reply);
    REQUIRE(p.frame.kind == codec::FrameKind::read_reply);
    CHECK(p.frame.data.size() == 124);
    auto decoded = schema::decode(schema_of("EL100V2", 100), p.frame.data);
    REQUIRE(decoded.ok());
    CHECK(decoded->find("device_serial")->value == schema::Value{std::string("1234567890123")});
    CHECK(decoded->find("device_model")->value == schema::Value{std::string("EL100V2")});
    const auto soc = std::get<std::int64_t>(decoded->find("pack_soc")->value);
    CHECK(soc >= 5);
    CHECK(soc <= 100);

    // a write the bridge must never send: exception 02, and the sim says so at exit
    REQUIRE(
        bridge.publish("SUB/EL100V2/1234567890123", codec::wrap(codec::Envelope::v2, 2013, frame({0x00, 0x06, 0x07, 0xDD, 0x00, 0x01}))));
    auto refused = bridge.wait_message("PUB/EL100V2/1234567890123", kTimeout);
    REQUIRE(refused.has_value());
    const Parsed e = parse(*refused);
    CHECK(e.frame.kind == codec::FrameKind::exception);
    CHECK(e.frame.exception_code == 2);

    CHECK(sim.process.stop() == 0);  // SIGTERM: a clean exit
    const std::string log = sim.process.stderr_text();
    CHECK(log.find("ready") != std::string::npos);
    CHECK(log.find("forbidden_writes=1") != std::string::npos);
    CHECK(broker.stop() == 0);
}

TEST_CASE("--app-reads: another client's FC 03 reads, answered on the reply topic without anyone else asking") {
    TempDir dir("bluetti-sim-app-reads");
    Mosquitto broker;
    std::string error;
    REQUIRE_MESSAGE(broker.start(dir.path(), error), error);
    Sim sim;
    sim.start(dir,
              {"--broker", broker.address(), "--device", "EL100V2:SIMAPP000001:1234567890123", "--app-reads", "100:200", "--seed", "5"});

    // Only a listener: it subscribes to both topics and never publishes.
    MqttTestClient observer;
    mqtt::Options o;
    o.port = broker.port();
    o.client_id = "observer";
    REQUIRE_MESSAGE(observer.connect(o, kTimeout, error), error);
    REQUIRE(observer.subscribe("SUB/EL100V2/1234567890123", kTimeout));
    REQUIRE(observer.subscribe("PUB/EL100V2/1234567890123", kTimeout));
    int requests = 0, replies = 0;
    while (replies < 5) {
        auto m = observer.wait_message([](const MqttMessage&) { return true; }, kTimeout);
        REQUIRE_MESSAGE(m.has_value(), "no app read or reply; " << sim.process.describe());
        auto unwrapped = codec::unwrap(m->payload);
        REQUIRE(unwrapped.ok());
        CHECK(unwrapped->envelope == codec::Envelope::v2);
        if (m->topic.starts_with("SUB/")) {  // the app's request, as the bridge would send it
            auto f = codec::parse_frame(unwrapped->rtu, codec::Direction::request);
            REQUIRE(f.ok());
            CHECK(f->kind == codec::FrameKind::read_request);
            CHECK(((m->payload[3] << 8) | m->payload[4]) == f->address);  // V2 header: the register read
            ++requests;
            continue;
        }
        const Parsed p = parse(*m);
        if (p.frame.kind == codec::FrameKind::read_reply) ++replies;  // an exception 02 is possible (see app_client_test)
    }
    CHECK(requests >= replies);

    CHECK(sim.process.stop() == 0);
    const std::string log = sim.process.stderr_text();
    const auto at = log.rfind("app_reads=");
    REQUIRE(at != std::string::npos);
    CHECK(std::stoi(log.substr(at + 10)) >= requests);
    CHECK(broker.stop() == 0);
}

TEST_CASE("--frozen: two reads of block 100 a second apart return the same bytes") {
    TempDir dir("bluetti-sim-frozen");
    Mosquitto broker;
    std::string error;
    REQUIRE_MESSAGE(broker.start(dir.path(), error), error);
    Sim sim;
    sim.start(dir, {"--broker", broker.address(), "--device", "AP300:SIMFROZEN001:2616113487436", "--frozen", "--seed", "5"});

    MqttTestClient bridge;
    mqtt::Options o;
    o.port = broker.port();
    o.client_id = "frozen-bridge";
    REQUIRE_MESSAGE(bridge.connect(o, kTimeout, error), error);
    REQUIRE(bridge.subscribe("PUB/AP300/2616113487436", kTimeout));
    const Bytes read100 = codec::wrap(codec::Envelope::v2, 100, frame({0x00, 0x03, 0x00, 0x64, 0x00, 0x48}));  // all 72 registers
    const auto read = [&] {
        REQUIRE(bridge.publish("SUB/AP300/2616113487436", read100));
        auto reply = bridge.wait_message("PUB/AP300/2616113487436", kTimeout);
        REQUIRE_MESSAGE(reply.has_value(), "no reply; " << sim.process.describe());
        REQUIRE(parse(*reply).frame.kind == codec::FrameKind::read_reply);
        return reply->payload;
    };
    const Bytes first = read();
    bridge.run_for(1s);  // the time that would move every value of a running clock
    const Bytes second = read();
    CHECK(to_hex(first) == to_hex(second));  // the envelope's RSSI byte included

    CHECK(sim.process.stop() == 0);
    CHECK(broker.stop() == 0);
}

TEST_CASE("TLS with client certificates, pushes, a session kick and the REST stand-in") {
    TempDir dir("bluetti-sim-tls");
    const TestCertificates& certs = shared_certificates();
    std::string error;

    MosquittoOptions mo;
    mo.tls = true;
    mo.ca_file = certs.ca_cert;
    mo.cert_file = certs.server_cert;
    mo.key_file = certs.server_key;
    Mosquitto broker(mo);
    REQUIRE_MESSAGE(broker.start(dir.path(), error), error);

    Sim sim;
    sim.start(dir, {"--broker",
                    broker.address(),
                    "--ca",
                    certs.ca_cert,
                    "--cert",
                    certs.client_cert,
                    "--key",
                    certs.client_key,
                    "--device",
                    "AP300:AP3002616113487436:2616113487436",
                    "--push-every",
                    "1",
                    "--kick-every",
                    "1",
                    "--kick-client-id",
                    "bridge-under-test",
                    "--rest-port",
                    "0",
                    "--rest-cert",
                    certs.server_cert,
                    "--rest-key",
                    certs.server_key,
                    "--account",
                    "me@example.com:correct horse",
                    "--pfx",
                    certs.pkcs12,
                    "--pfx-password",
                    certs.pkcs12_password});
    const auto rest_port = ready_file_value(sim.ready_text, "rest_port");
    REQUIRE(rest_port.has_value());
    CHECK(std::stoi(*rest_port) > 0);

    mqtt::Options tls;
    tls.port = broker.port();
    tls.tls = true;
    tls.ca_file = certs.ca_cert;
    tls.cert_file = certs.client_cert;
    tls.key_file = certs.client_key;

    SUBCASE("pushes arrive as FC 16 frames of blocks 100 and 1300") {
        MqttTestClient observer;
        mqtt::Options o = tls;
        o.client_id = "observer";
        REQUIRE_MESSAGE(observer.connect(o, kTimeout, error), error);
        REQUIRE(observer.subscribe("PUB/AP300/2616113487436", kTimeout));
        std::set<std::uint16_t> starts;
        while (starts.size() < 2) {
            auto push = observer.wait_message("PUB/AP300/2616113487436", kTimeout);
            REQUIRE_MESSAGE(push.has_value(), "no push; " << sim.process.describe());
            const Parsed p = parse(*push);
            REQUIRE(p.frame.kind == codec::FrameKind::write_multiple);
            CHECK(schema::decode(schema_of("AP300", p.frame.address), p.frame.data).ok());
            starts.insert(p.frame.address);
        }
        CHECK(starts == std::set<std::uint16_t>{100, 1300});
    }
    SUBCASE("the kick takes over the session of --kick-client-id") {
        MqttTestClient bridge;
        mqtt::Options o = tls;
        o.client_id = "bridge-under-test";
        REQUIRE_MESSAGE(bridge.connect(o, kTimeout, error), error);
        CHECK(bridge.wait_disconnect(kTimeout));
        CHECK(broker.log_text().find("Client bridge-under-test already connected, closing old connection") != std::string::npos);
    }
    SUBCASE("the broker refuses an expired client certificate and one from another CA") {
        for (const auto& [cert_, key] :
             {std::pair{certs.expired_client_cert, certs.expired_client_key}, std::pair{certs.other_client_cert, certs.other_client_key}}) {
            const auto& cert = cert_;  // a named copy: clang 14 cannot capture a structured binding
            CAPTURE(cert);
            MqttTestClient stranger;
            mqtt::Options o = tls;
            o.client_id = "stranger";
            o.cert_file = cert;
            o.key_file = key;
            std::string why;
            CHECK_FALSE(stranger.connect(o, kTimeout, why));
        }
        CHECK(broker.log_text().find("certificate verify failed") != std::string::npos);
    }
    SUBCASE("the REST flow of docs/protocol.md §1 over HTTPS") {
        httplib::SSLClient client("127.0.0.1", std::stoi(*rest_port));
        client.set_ca_cert_path(certs.ca_cert.c_str());
        client.enable_server_certificate_verification(true);
        const cloud::AppIdentity app;
        const std::string device_id = "b5d8cd7ae3e8f6d56b7bb1686bc7705e";
        httplib::Headers headers{{"x-app-key", app.app_key}, {"x-app-ver", app.app_version}, {"x-os", app.os}, {"x-device-id", device_id}};

        auto login = client.Post("/accessToken", headers,
                                 httplib::Params{{"username", "me@example.com"},
                                                 {"password", cloud::login_password_hash("correct horse")},
                                                 {"passOpen", cloud::login_pass_open("correct horse")}});
        REQUIRE_MESSAGE(login, "HTTPS to the REST stand-in failed: " << httplib::to_string(login.error()));
        REQUIRE(login->status == 200);
        const std::string token = json::parse(login->body)["data"]["token"];
        headers.emplace("Authorization", token);

        auto devices = client.Get("/api/blusmartprod/device/group/v1/homeDevices", headers);
        REQUIRE(devices);
        const json records = json::parse(devices->body)["data"];
        REQUIRE(records.size() == 1);
        CHECK(records[0]["subSn"] == "2616113487436");
        CHECK(records[0]["packNum"] == 2);

        auto time = client.Get(std::string(cloud::kUtcTimeUrl), headers);
        REQUIRE(time);
        const std::uint64_t server_ms = json::parse(time->body)["data"];
        auto password = cloud::certificate_password(time->get_header_value("X-Signature"), server_ms, token, app);
        REQUIRE(password.ok());
        CHECK(*password == certs.pkcs12_password);

        httplib::Headers pfx_headers = headers;
        pfx_headers.emplace("x-app-resource", cloud::pfx_app_resource(*password, "1234567890123456789", device_id, server_ms, token, app));
        auto pfx = client.Post(std::string(cloud::kPfxUrl), pfx_headers, "", "application/octet-stream");
        REQUIRE(pfx);
        CHECK(pfx->get_header_value("Content-Type") == "application/octet-stream");
        CHECK(pfx->body == read_text_file(certs.pkcs12));

        auto unauthorized = client.Get("/api/bluuc/uc/v1/basic/get",
                                       httplib::Headers{{"x-app-key", app.app_key}, {"x-app-ver", app.app_version}, {"x-os", app.os}});
        REQUIRE(unauthorized);
        CHECK(unauthorized->status == 401);
        // the log names requests, never the password or the token
        const std::string log = sim.process.stderr_text();
        CHECK(log.find("REST POST /accessToken -> 200") != std::string::npos);
        CHECK(log.find(token) == std::string::npos);
        CHECK(log.find("correct horse") == std::string::npos);
    }
    CHECK(sim.process.stop() == 0);
    CHECK(sim.process.stderr_text().find("forbidden_writes=0") != std::string::npos);
}

int main(int argc, char** argv) {
    if (!Mosquitto::available() || !TestCertificates::available()) {
        std::cerr << "skipped: needs " << Mosquitto::binary() << " and " << TestCertificates::openssl() << "\n";
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
