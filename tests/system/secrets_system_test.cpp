// Secrets and stuck states around the cloud login (issue "Hardening", the secrets part):
// bluetti-sim with its REST stand-in -> TLS cloud broker -> bluetti-bridge -> local broker.
//   - account mode keeps the token, the PKCS#12 and its password in memory only: the state
//     directory (0700) holds nothing they could be recovered from, every file in it is 0600, and the
//     files earlier versions wrote are removed; core dumps are off;
//   - a user's PKCS#12 that cannot be used stops the bridge with the error (systemd restarts it),
//     instead of leaving it up doing nothing;
//   - a TLS failure downloads a new client certificate only when the certificate can be the cause,
//     and never at every reconnect.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "bridge_fixture.hpp"

using namespace bluetti;
using namespace bluetti::systest;
namespace fs = std::filesystem;

namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// Waits (by watching the log, no sleeping) until `what` appears `times` times in the bridge's log.
// Four failed connections take about 25 s in the normal build and more under ASan: 3 × kTimeout.
bool log_shows(Bridge& bridge, const TempDir& dir, const std::string& what, std::size_t times) {
    return wait_for_file(
               dir.file("bridge.log"), [&](const std::string& text) { return count(text, what) >= times; }, 3 * kTimeout,
               [&] { return bridge.process.running(); })
        .has_value();
}

std::string online_topic() {
    return "bluetti/" + kSerial + "/availability";
}

// A mosquitto like the cloud's, but presenting a server certificate the bridge must refuse (the
// client certificate: wrong name, wrong purpose), so every connection fails on the server's side.
MosquittoOptions broker_with_wrong_server_certificate() {
    MosquittoOptions o = tls_broker_options(certificates());
    o.cert_file = certificates().client_cert;
    o.key_file = certificates().client_key;
    return o;
}

std::string legacy_p12(const TempDir& dir, const std::string& cert, const std::string& key) {
    const std::string out = dir.file("client-" + std::to_string(std::hash<std::string>{}(cert)) + ".p12");
    auto r = run_command(TestCertificates::openssl(),
                         {"pkcs12", "-export", "-legacy", "-inkey", key, "-in", cert, "-certfile", certificates().ca_cert, "-out", out,
                          "-passout", "pass:" + certificates().pkcs12_password});
    REQUIRE_MESSAGE(r.status == 0, r.output);
    return out;
}

}  // namespace

TEST_CASE("account mode: the state directory holds nothing secret, earlier versions' secret files go, no core dumps") {
    Cloud cloud;
    TempDir dir("bluetti-secrets");
    Local local(dir);
    Bridge bridge;
    bridge.write_config(cloud, local, dir, "Secrets");
    const fs::path state = dir.file("state");

    // First start: the bridge creates the state directory itself.
    auto started = std::chrono::steady_clock::now();
    bridge.start(dir);
    REQUIRE_MESSAGE(wait_topic(local.ha, online_topic(), [](const std::string& t) { return t == "online"; }), bridge.process.describe());
    const auto first_online = std::chrono::steady_clock::now() - started;
    const std::string limits = read_all("/proc/" + std::to_string(bridge.process.pid()) + "/limits");
    CHECK_MESSAGE(limits.find("Max core file size        0                    0") != std::string::npos, limits);
    REQUIRE(bridge.process.stop() == 0);  // SIGTERM saves the state files

    CHECK(mode_of(state) == 0700);
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(state)) {
        const std::string name = entry.path().filename().string();
        names.insert(name);
        CAPTURE(name);
        CHECK(mode_of(entry.path()) == 0600);
        const std::string content = read_all(entry.path().string());
        CHECK(content.find(kPassword) == std::string::npos);
        CHECK(content.find(certificates().pkcs12_password) == std::string::npos);
        CHECK(content.find("BEGIN") == std::string::npos);
    }
    CHECK(names == std::set<std::string>{"counters.json", "device-id", "stations.json"});

    // What an earlier version left there: the token, the PKCS#12 password and the PKCS#12.
    const std::string old_p12 = read_all(certificates().pkcs12);
    REQUIRE(write_text_file(
        (state / "account.json").string(),
        "{\"email\":\"" + kEmail + "\",\"token\":\"a.b.c\",\"certificate_password\":\"" + certificates().pkcs12_password + "\"}"));
    REQUIRE(write_text_file((state / "certificate.p12").string(), old_p12));
    fs::remove(dir.file("bridge.log"));
    started = std::chrono::steady_clock::now();
    bridge.start(dir);
    REQUIRE_MESSAGE(wait_topic(local.ha, online_topic(), [](const std::string& t) { return t == "online"; }), bridge.process.describe());
    const auto restart_online = std::chrono::steady_clock::now() - started;
    CHECK_FALSE(fs::exists(state / "account.json"));
    CHECK_FALSE(fs::exists(state / "certificate.p12"));
    const std::string log = read_all(dir.file("bridge.log"));
    CHECK_MESSAGE(count(log, "removed account.json, certificate.p12 from") == 1, log);
    CHECK_MESSAGE(count(log, "logging in to") == 1, log);  // every start logs in: nothing was cached
    MESSAGE("start to online: first " << std::chrono::duration_cast<std::chrono::milliseconds>(first_online).count() << " ms, restart "
                                      << std::chrono::duration_cast<std::chrono::milliseconds>(restart_online).count() << " ms");
    CHECK(bridge.process.stop() == 0);
}

TEST_CASE("certificate mode: a truncated PKCS#12 stops the bridge with the error") {
    Cloud cloud;
    TempDir dir("bluetti-secrets");
    Local local(dir);
    const std::string whole = read_all(certificates().pkcs12);
    const std::string truncated = dir.file("truncated.p12");
    REQUIRE(write_text_file(truncated, whole.substr(0, whole.size() / 2)));
    Bridge bridge;
    bridge.config_file = dir.file("config.yaml");
    REQUIRE(write_text_file(bridge.config_file,
                            "cloud:\n  certificate: " + truncated + "\n  certificate_password: " + certificates().pkcs12_password +
                                "\n  mqtt_username: tid:test\n  mqtt_password: secret\n  broker: " + cloud.broker.address() +
                                "\n  ca_file: " + certificates().ca_cert + "\nhomeassistant:\n  broker: mqtt://127.0.0.1:" +
                                std::to_string(local.broker.port()) + "\ndevices:\n  - serial: \"" + kSerial +
                                "\"\n    model: EL100V2\n    sub_sn: SUB1\nstate_dir: " + dir.file("state") + "\n"));
    bridge.start(dir);
    const auto status = bridge.process.wait(kTimeout);
    REQUIRE_MESSAGE(status.has_value(), "the bridge stayed up: " << bridge.process.describe());
    CHECK(*status == 1);
    const std::string log = read_all(dir.file("bridge.log"));
    CHECK_MESSAGE(log.find("is unusable: the certificate bundle is not a PKCS#12 file") != std::string::npos, log);
}

TEST_CASE("a refused server certificate never downloads a new client certificate") {
    Cloud cloud;
    TempDir dir("bluetti-secrets"), impostor_dir("bluetti-secrets-impostor");
    Mosquitto impostor(broker_with_wrong_server_certificate());
    std::string error;
    REQUIRE_MESSAGE(impostor.start(impostor_dir.path(), error), error);
    Local local(dir);
    Bridge bridge;
    bridge.write_config(cloud, local, dir, "Secrets");
    // The REST side is the real one, the broker the impostor.
    std::string config = read_all(bridge.config_file);
    config.replace(config.find(cloud.broker.address()), cloud.broker.address().size(), impostor.address());
    REQUIRE(write_text_file(bridge.config_file, config));
    bridge.start(dir);
    // Three refused connections (the fourth comes past 90 s under ASan, as the backoff grows).
    REQUIRE_MESSAGE(log_shows(bridge, dir, "TLS with the cloud broker failed", 3), bridge.process.describe());
    const std::string log = read_all(dir.file("bridge.log"));
    CHECK_MESSAGE(log.find("server certificate verify failed") != std::string::npos, log);
    CHECK_MESSAGE(count(log, "logging in to") == 1, log);
    CHECK(bridge.process.stop() == 0);
}

TEST_CASE("a refused client certificate is replaced, but not at every reconnect") {
    // The cloud hands out an expired certificate, again and again.
    TempDir pki("bluetti-secrets-pki");
    const std::string expired = legacy_p12(pki, certificates().expired_client_cert, certificates().expired_client_key);
    Cloud cloud({{"EL100V2", kSerial, ""}}, {"--pfx", expired});
    TempDir dir("bluetti-secrets");
    Local local(dir);
    Bridge bridge;
    bridge.write_config(cloud, local, dir, "Secrets");
    bridge.start(dir);
    // The broker's alert arrives after the handshake: the failure is still the certificate's.
    REQUIRE_MESSAGE(log_shows(bridge, dir, "the broker refused the client certificate", 3), bridge.process.describe());
    const std::string log = read_all(dir.file("bridge.log"));
    // The first start, then one renewal; the next is a minute away, doubling.
    CHECK_MESSAGE(count(log, "logging in to") == 2, log);
    CHECK_MESSAGE(count(log, "not downloaded again yet (backing off)") >= 2, log);
    CHECK(bridge.process.stop() == 0);
}

TEST_CASE("tls_insecure warns that it covers the REST gateway and plain http:// too") {
    Cloud cloud;
    TempDir dir("bluetti-secrets");
    Local local(dir);
    Bridge bridge;
    bridge.write_config(cloud, local, dir, "Secrets", "", "  tls_insecure: true\n");
    bridge.start(dir);
    REQUIRE_MESSAGE(log_shows(bridge, dir, "cloud.tls_insecure is set", 1), bridge.process.describe());
    const std::string log = read_all(dir.file("bridge.log"));
    CHECK_MESSAGE(
        log.find("nor the REST gateway's certificate is verified, and plain http:// is allowed for cloud.api") != std::string::npos, log);
    CHECK(bridge.process.stop() == 0);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
