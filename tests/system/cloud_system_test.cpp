// The cloud side end to end (issue "Cloud link"): bluetti-cli against a real TLS mosquitto that
// requires client certificates, bluetti-sim playing the devices and the REST API.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "bluetti/client.hpp"
#include "bluetti/mqtt/session.hpp"
#include "fixture.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

std::map<int, json> scan(const CommandResult& r) {
    std::map<int, json> blocks;
    for (auto& j : json_lines(r.output))
        if (j.contains("block")) blocks[j["block"].get<int>()] = j;
    return blocks;
}

// A PKCS#12 without the CA inside, so only --ca-file (or nothing) decides the broker's trust.
std::string pkcs12_without_ca(const TempDir& dir, const std::string& cert, const std::string& key) {
    const std::string out = dir.file("noca-" + std::to_string(std::hash<std::string>{}(cert)) + ".p12");
    auto r = run_command(TestCertificates::openssl(), {"pkcs12", "-export", "-legacy", "-inkey", key, "-in", cert, "-out", out, "-passout",
                                                       "pass:" + certificates().pkcs12_password});
    REQUIRE_MESSAGE(r.status == 0, r.output);
    return out;
}

std::vector<std::string> cert_mode(const Cloud& c, const std::string& p12, const std::string& ca) {
    std::vector<std::string> a{"--cert",
                               p12,
                               "--password",
                               certificates().pkcs12_password,
                               "--mqtt-username",
                               "tid:test",
                               "--mqtt-password",
                               "x",
                               "--model",
                               "EL100V2",
                               "--sn",
                               c.devices[0].sn,
                               "--sub-sn",
                               c.devices[0].sn,
                               "--broker",
                               c.broker.address()};
    if (!ca.empty()) a.insert(a.end(), {"--ca-file", ca});
    return a;
}

}  // namespace

TEST_CASE("account mode: login, devices, then scan returns the simulator's values") {
    Cloud cloud({{"EL100V2", "2345000000002", ""}, {"AP300", "AP3002616113487436", "2616113487436"}});
    auto flags = cloud.account_flags();

    auto args = flags;
    args.insert(args.end(), {"--json", "login"});
    auto login = cli(args);
    REQUIRE_MESSAGE(login.status == 0, login.output);
    CHECK(login.output.find(kPassword) == std::string::npos);  // secrets never printed

    args = flags;
    args.insert(args.end(), {"--json", "devices"});
    auto devices = cli(args);
    REQUIRE_MESSAGE(devices.status == 0, devices.output);
    const auto list = json_lines(devices.output).at(0);
    REQUIRE(list.size() == 2);
    CHECK(list[0]["sn"] == "2345000000002");
    CHECK(list[0]["model"] == "EL100V2");
    CHECK(list[1]["sub_sn"] == "2616113487436");
    CHECK(list[1]["profile"] == "AP300");

    args = flags;
    args.insert(args.end(), {"--sn", "2345000000002", "--json", "scan", "--blocks", "100,1100,1300,2000"});
    auto r = cli(args);
    REQUIRE_MESSAGE(r.status == 0, r.output);
    auto blocks = scan(r);
    REQUIRE(blocks.size() == 4);
    CHECK(blocks[100]["fields"]["device_model"] == "EL100V2");
    CHECK(blocks[100]["fields"]["device_serial"] == "2345000000002");
    CHECK(blocks[1100]["fields"]["firmware_arm_version"] == "4011.05");
    CHECK(blocks[1100]["fields"]["firmware_dsp_version"] == "4012.07");
    CHECK(blocks[2000]["fields"]["ac_output_switch"] == true);
    CHECK(blocks[2000]["fields"]["soc_charge_limit"] == 100);
    CHECK(blocks[2000]["fields"]["soc_discharge_limit"] == 10);
    const double hz = blocks[1300]["fields"]["grid_frequency"];
    CHECK(hz > 49.8);
    CHECK(hz < 50.2);
    CHECK(blocks[100]["rssi"].get<int>() < 0);

    // The AP300 by its subSn: the main unit answers at slave 0.
    args = flags;
    args.insert(args.end(), {"--sn", "2616113487436", "--json", "scan", "--blocks", "100"});
    auto ap = cli(args);
    REQUIRE_MESSAGE(ap.status == 0, ap.output);
    CHECK(scan(ap)[100]["fields"]["device_serial"] == "2616113487436");
}

TEST_CASE("account mode: bad credentials are one clear error, no retry") {
    Cloud cloud;
    auto r = cli({"--email", kEmail, "--password", "wrong", "--api", cloud.api(), "--ca-file", certificates().ca_cert, "login"});
    CHECK(r.status == 3);
    CHECK(r.output.find("login refused") != std::string::npos);
    CHECK(r.output.find("wrong") == std::string::npos);
}

TEST_CASE("certificate mode: no REST call, same values") {
    Cloud cloud;
    auto args = cert_mode(cloud, certificates().pkcs12, certificates().ca_cert);
    args.insert(args.end(), {"--json", "raw", "--block", "100"});
    auto r = cli(args);
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const auto j = json_lines(r.output).at(0);
    CHECK(j["fields"]["device_serial"] == "2345000000002");
    CHECK(j["request_hex"].get<std::string>().rfind("01f80f0064", 0) == 0);  // V2 envelope, register 100
    CHECK(cloud.sim.stderr_text().find("REST POST") == std::string::npos);   // no login, no certificate download
    CHECK(cloud.sim.stderr_text().find("REST GET") == std::string::npos);
}

TEST_CASE("TLS: wrong CA refused, wrong PKCS#12 password, expired certificate, tls_insecure only when set") {
    Cloud cloud;
    const std::string no_ca = pkcs12_without_ca(cloud.dir, certificates().client_cert, certificates().client_key);

    auto wrong_ca = cert_mode(cloud, no_ca, certificates().other_ca_cert);
    wrong_ca.insert(wrong_ca.end(), {"--request-timeout", "2", "raw", "--block", "100"});
    auto r = cli(wrong_ca);
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("certificate verify failed") != std::string::npos, r.output);

    auto right_ca = cert_mode(cloud, no_ca, certificates().ca_cert);
    right_ca.insert(right_ca.end(), {"raw", "--block", "100"});
    r = cli(right_ca);
    CHECK_MESSAGE(r.status == 0, r.output);

    auto insecure = cert_mode(cloud, no_ca, certificates().other_ca_cert);
    insecure.insert(insecure.end(), {"--tls-insecure", "raw", "--block", "100"});
    r = cli(insecure);
    CHECK_MESSAGE(r.status == 0, r.output);

    auto bad_password = cert_mode(cloud, certificates().pkcs12, certificates().ca_cert);
    bad_password[3] = "not-the-password";
    bad_password.insert(bad_password.end(), {"raw", "--block", "100"});
    r = cli(bad_password);
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("wrong PKCS#12 password") != std::string::npos, r.output);

    const std::string expired = pkcs12_without_ca(cloud.dir, certificates().expired_client_cert, certificates().expired_client_key);
    auto expired_args = cert_mode(cloud, expired, certificates().ca_cert);
    expired_args.insert(expired_args.end(), {"raw", "--block", "100"});
    r = cli(expired_args, std::chrono::seconds(120));
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("not connected") != std::string::npos, r.output);
}

TEST_CASE("a silent device: timeouts retried, then an error, an exception reply: unsupported") {
    Cloud cloud({{"EL100V2", "2345000000002", ""}}, {"--silent"});
    auto args = cloud.account_flags();
    args.insert(args.end(), {"--sn", "2345000000002", "--retries", "2", "--retry-initial-delay", "0.2", "--request-timeout", "1", "raw",
                             "--block", "100"});
    auto r = cli(args);
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("no answer after 2 attempts") != std::string::npos, r.output);

    Cloud el30({{"EL30V2", "2330000000001", ""}});
    args = el30.account_flags();
    args.insert(args.end(), {"--sn", "2330000000001", "raw", "--block", "2200"});
    r = cli(args);
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("unsupported") != std::string::npos, r.output);
}

TEST_CASE("pushes interleaved with replies never corrupt a reply") {
    Cloud cloud({{"EL100V2", "2345000000002", ""}}, {"--push-every", "0.05"});
    ClientOptions o;
    o.email = kEmail;
    o.password = kPassword;
    o.api = cloud.api();
    o.ca_file = certificates().ca_cert;
    o.broker = cloud.broker.address();
    o.serial = "2345000000002";
    Client client(o);
    REQUIRE_MESSAGE(client.connect().ok(), client.link_status().last_error);
    int pushes = 0;
    client.on_push([&](const cloud::BlockData& d) {
        ++pushes;
        CHECK((d.block == 100 || d.block == 1300));
    });
    // Read until pushes have arrived between the replies: how many reads that takes depends on
    // the round-trip time, so the loop counts pushes, not reads (bounded so a silent simulator
    // fails instead of hanging).
    for (int i = 0; i < 20 || pushes < 3; ++i) {
        REQUIRE_MESSAGE(i < 20000, "no pushes arrived between 20000 reads");
        auto settings = client.read_block(2000);
        REQUIRE_MESSAGE(settings.ok(), settings.error().message);
        CHECK(settings->block == 2000);
        CHECK(std::get<bool>(settings->decoded.find("ac_output_switch")->value));
        auto home = client.read_block(100, 62);
        REQUIRE_MESSAGE(home.ok(), home.error().message);
        CHECK(std::get<std::string>(home->decoded.find("device_serial")->value) == "2345000000002");
    }
    CHECK(pushes >= 3);
    CHECK(client.stats().decode_errors == 0);
}

TEST_CASE("cloud broker restart: the client reconnects by itself") {
    Cloud cloud;
    ClientOptions o;
    o.email = kEmail;
    o.password = kPassword;
    o.api = cloud.api();
    o.ca_file = certificates().ca_cert;
    o.broker = cloud.broker.address();
    o.serial = "2345000000002";
    o.reconnect_initial = std::chrono::milliseconds(300);
    o.request_timeout = std::chrono::milliseconds(1000);
    Client client(o);
    REQUIRE(client.connect().ok());
    REQUIRE(client.read_block(100).ok());
    std::string error;
    REQUIRE(cloud.broker.restart(cloud.dir.path(), error));
    // Run the client's loop until its session is back (the simulator reconnects on its own too).
    client.loop().run_until([&] { return client.link_status().connects >= 2 && client.link_status().state == cloud::CloudLink::State::up; },
                            std::chrono::seconds(60));
    CHECK(client.link_status().connects >= 2);
    bool ok = false;
    for (int i = 0; i < 10 && !ok; ++i) {
        ok = client.read_block(100).ok();
        if (!ok) client.loop().run_until([] { return false; }, std::chrono::milliseconds(500));
    }
    CHECK(ok);
}

TEST_CASE("a quiet MQTT session stays up on an idle loop: the keep-alive runs on a timer, not a tick") {
    TempDir dir("keepalive");
    Mosquitto broker;
    std::string error;
    REQUIRE_MESSAGE(broker.start(dir.path(), error), error);
    EventLoop loop;
    mqtt::Session session(loop, "test");
    int connects = 0, disconnects = 0;
    mqtt::Session::Handlers handlers;
    handlers.on_connect = [&](int rc, const std::string&) { connects += rc == 0; };
    handlers.on_disconnect = [&](int, const std::string&) { ++disconnects; };
    session.set_handlers(handlers);
    mqtt::Options o;
    o.port = broker.port();
    o.client_id = "keepalive-test";
    o.keepalive_s = 5;  // libmosquitto's least; the broker drops a client silent for 7.5 s
    REQUIRE_MESSAGE(session.connect(o, error), error);
    loop.run_until([&] { return connects > 0; }, std::chrono::seconds(10));
    REQUIRE(connects == 1);
    // run() sleeps until an fd or a timer is due; nothing is published for more than two keep-alive periods.
    loop.after(std::chrono::seconds(12), [&] { loop.stop(); });
    CHECK(loop.run());
    CHECK(disconnects == 0);
    CHECK(session.connected());
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
