// load_config() and credentials: the secret sources and their priority, the process environment,
// and the rules of certificate mode.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/config_support.hpp"

using namespace bluetti;
using namespace bluetti::config_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST_CASE("config: secret sources and their priority") {
    TempDir dir;
    const std::string creds = dir.file("credentials");
    fs::create_directories(creds);
    dir.write("credentials/bluetti-password", "pw-cred\n");
    dir.write("pw.txt", "pw-file\n\n");
    const std::string head = "cloud:\n  email: me@example.com\n";
    const auto password = [&](const std::string& extra, std::map<std::string, std::string> vars) {
        return load_ok(dir, head + extra, env(std::move(vars))).cloud.password;
    };

    CHECK(password("  password: pw-value\n", {{"BLUETTI_PASSWORD", "pw-env"}, {"CREDENTIALS_DIRECTORY", creds}}) == "pw-value");
    // One trailing newline is stripped, not more.
    CHECK(password("  password_file: pw.txt\n", {{"BLUETTI_PASSWORD", "pw-env"}, {"CREDENTIALS_DIRECTORY", creds}}) == "pw-file\n");
    CHECK(password("", {{"BLUETTI_PASSWORD", "pw-env"}, {"CREDENTIALS_DIRECTORY", creds}}) == "pw-env");
    CHECK(password("", {{"CREDENTIALS_DIRECTORY", creds}}) == "pw-cred");
    // A password_file that cannot be read falls through to the environment and the credential.
    CHECK(password("  password_file: missing.txt\n", {{"BLUETTI_PASSWORD", "pw-env"}}) == "pw-env");
    CHECK(password("  password_file: missing.txt\n", {{"CREDENTIALS_DIRECTORY", creds}}) == "pw-cred");
    // Absolute paths are taken as they are.
    CHECK(password("  password_file: " + dir.file("pw.txt") + "\n", {}) == "pw-file\n");

    const std::string f = dir.file("config.yaml");
    SUBCASE("missing everywhere: the error says where it can be given") {
        CHECK(load_error(dir, head, env({{"CREDENTIALS_DIRECTORY", dir.file("nothing")}})) ==
              f + ":2:10: cloud.password is missing (e-mail login): give cloud.password or cloud.password_file, set $BLUETTI_PASSWORD, "
                  "or provide the systemd credential 'bluetti-password'");
    }
    SUBCASE("a missing password_file with no other source: error at the key with the OS reason") {
        CHECK(load_error(dir, head + "  password_file: missing.txt\n", env()) ==
              f + ":3:18: cloud.password_file '" + dir.file("missing.txt") + "' cannot be read: No such file or directory");
    }
    SUBCASE("an unreadable password_file falls through too, and is named when nothing else gives the password") {
        // As under the packaged unit: a DynamicUser cannot read the file and gets the credential instead.
        fs::create_directories(dir.file("adir"));
        CHECK(password("  password_file: adir\n", {{"CREDENTIALS_DIRECTORY", creds}}) == "pw-cred");
        CHECK(load_error(dir, head + "  password_file: adir\n", env()) ==
              f + ":3:18: cloud.password_file '" + dir.file("adir") + "' cannot be read: Is a directory");
    }
    SUBCASE("a credential that exists but cannot be read") {
        fs::create_directories(dir.file("bad-credentials/bluetti-password"));
        CHECK(load_error(dir, head, env({{"CREDENTIALS_DIRECTORY", dir.file("bad-credentials")}})) ==
              f + ":1:1: systemd credential '" + dir.file("bad-credentials/bluetti-password") + "' cannot be read: Is a directory");
    }
    SUBCASE("both the value and the file") {
        const std::string error = load_error(dir, head + "  password: hunter2\n  password_file: pw.txt\n", env());
        CHECK(error == f + ":4:18: give cloud.password or cloud.password_file, not both");
        CHECK(error.find("hunter2") == std::string::npos);
    }
    SUBCASE("an empty value or file") {
        dir.write("empty.txt", "\n");
        CHECK(load_error(dir, head + "  password: \"\"\n", env({{"BLUETTI_PASSWORD", "pw-env"}})) == f + ":3:13: cloud.password is empty");
        CHECK(load_error(dir, head + "  password_file: empty.txt\n", env({{"BLUETTI_PASSWORD", "pw-env"}})) ==
              f + ":3:18: cloud.password_file '" + dir.file("empty.txt") + "' is empty");
    }
    SUBCASE("Home Assistant password: value, file, environment, credential") {
        dir.write("credentials/ha-password", "ha-cred");
        const auto ha = [&](const std::string& extra, std::map<std::string, std::string> vars) {
            vars.emplace("BLUETTI_PASSWORD", "pw");
            return load_ok(dir, head + "homeassistant:\n  username: u\n" + extra, env(std::move(vars))).homeassistant.password;
        };
        CHECK(ha("  password: ha-value\n", {{"BLUETTI_HA_PASSWORD", "ha-env"}}) == "ha-value");
        CHECK(ha("  password_file: pw.txt\n", {{"BLUETTI_HA_PASSWORD", "ha-env"}}) == "pw-file\n");
        CHECK(ha("", {{"BLUETTI_HA_PASSWORD", "ha-env"}, {"CREDENTIALS_DIRECTORY", creds}}) == "ha-env");
        CHECK(ha("", {{"CREDENTIALS_DIRECTORY", creds}}) == "ha-cred");
        CHECK(ha("", {}).empty());  // a user name alone is allowed
        // Without a user name the environment's HA password is not used.
        CHECK(load_ok(dir, head, env({{"BLUETTI_PASSWORD", "pw"}, {"BLUETTI_HA_PASSWORD", "ha-env"}})).homeassistant.password.empty());
    }
}

TEST_CASE("config: the process environment is used only without a map") {
    TempDir dir;
    const std::string yaml = "cloud:\n  email: me@example.com\n";
    REQUIRE(::setenv("BLUETTI_PASSWORD", "pw-process", 1) == 0);
    const auto with_map = load(dir, yaml, env({{"OTHER", "x"}}));
    const auto without_map = load(dir, yaml, app::ConfigEnvironment{});
    ::unsetenv("BLUETTI_PASSWORD");
    CHECK_FALSE(with_map.ok());
    REQUIRE_MESSAGE(without_map.ok(), without_map.error());
    CHECK(without_map->cloud.password == "pw-process");
    CHECK(app::ConfigEnvironment{{{"A", "1"}}}.get("A") == "1");
    CHECK_FALSE(app::ConfigEnvironment{{{"A", "1"}}}.get("PATH").has_value());
}

TEST_CASE("config: certificate mode") {
    TempDir dir;
    dir.write("cert.pfx", "PKCS12");
    dir.write("credentials/bluetti-mqtt-password", "mqtt-cred\n");
    const std::string creds = dir.file("credentials");
    const std::string cloud = "cloud:\n  certificate: cert.pfx\n  certificate_password: cert-pw\n  mqtt_username: \"tid:42\"\n";
    const std::string devices = "devices:\n  - serial: A1\n    model: EL100V2\n    sub_sn: S1\n    slave: 1\n";
    const std::string f = dir.file("config.yaml");

    const auto c = load_ok(dir, cloud + "  mqtt_password: mqtt-pw\n" + devices, env());
    CHECK(c.cloud.certificate_mode());
    CHECK(c.cloud.certificate == dir.file("cert.pfx"));
    CHECK(c.cloud.certificate_password == "cert-pw");
    CHECK(c.cloud.mqtt_username == "tid:42");
    CHECK(c.cloud.mqtt_password == "mqtt-pw");
    CHECK(c.cloud.email.empty());
    REQUIRE(c.devices.size() == 1);
    CHECK(c.devices[0].sub_sn == "S1");
    CHECK(c.devices[0].slave == 1);

    SUBCASE("secrets from the environment and a credential; BLUETTI_PASSWORD is ignored") {
        const std::string yaml = "cloud:\n  certificate: cert.pfx\n  mqtt_username: u\n" + devices;
        const auto e =
            load_ok(dir, yaml, env({{"BLUETTI_CERT_PASSWORD", "cert-env"}, {"CREDENTIALS_DIRECTORY", creds}, {"BLUETTI_PASSWORD", "x"}}));
        CHECK(e.cloud.certificate_password == "cert-env");
        CHECK(e.cloud.mqtt_password == "mqtt-cred");
        CHECK(e.cloud.password.empty());
        const auto m =
            load_ok(dir, yaml,
                    env({{"BLUETTI_CERT_PASSWORD", "cert-env"}, {"BLUETTI_MQTT_PASSWORD", "mqtt-env"}, {"CREDENTIALS_DIRECTORY", creds}}));
        CHECK(m.cloud.mqtt_password == "mqtt-env");
    }
    SUBCASE("a devices: list is required") {
        CHECK(load_error(dir, cloud + "  mqtt_password: x\n", env()) ==
              f + ":1:1: certificate mode needs a devices: list with serial, model and sub_sn for each device");
    }
    SUBCASE("every device needs model and sub_sn") {
        const std::string error =
            load_error(dir, cloud + "  mqtt_password: x\ndevices:\n  - serial: A1\n    model: EL100V2\n  - serial: A2\n", env());
        CHECK(error == f + ":7:5: certificate mode needs model and sub_sn for every device (devices[0] lacks sub_sn)\n" + f +
                           ":9:5: certificate mode needs model and sub_sn for every device (devices[1] lacks both)");
    }
    SUBCASE("missing secrets and user name name their sources") {
        const std::string error = load_error(dir, "cloud:\n  certificate: cert.pfx\n" + devices, env());
        CHECK(error.find(f + ":2:16: cloud.certificate_password is missing (certificate mode): give cloud.certificate_password or "
                             "cloud.certificate_password_file, set $BLUETTI_CERT_PASSWORD, or provide the systemd credential "
                             "'bluetti-cert-password'") != std::string::npos);
        CHECK(error.find(f + ":2:16: cloud.mqtt_username is missing (certificate mode)") != std::string::npos);
        CHECK(error.find("cloud.mqtt_password is missing (certificate mode): give cloud.mqtt_password or cloud.mqtt_password_file, set "
                         "$BLUETTI_MQTT_PASSWORD, or provide the systemd credential 'bluetti-mqtt-password'") != std::string::npos);
        CHECK(lines(error) == 3);
    }
    SUBCASE("an unreadable certificate") {
        CHECK(load_error(dir,
                         "cloud:\n  certificate: none.pfx\n  certificate_password: p\n  mqtt_username: u\n  mqtt_password: p\n" + devices,
                         env()) == f + ":2:16: cloud.certificate '" + dir.file("none.pfx") + "' cannot be read: No such file or directory");
    }
    SUBCASE("keys of the other mode are errors") {
        const std::string error = load_error(dir, cloud + "  mqtt_password: x\n  password: secret-pw\n" + devices, env());
        CHECK(error == f + ":6:3: cloud.password is only used with e-mail login (with cloud.email)");
        CHECK(error.find("secret-pw") == std::string::npos);
        CHECK(load_error(dir, "cloud:\n  email: me@example.com\n  password: p\n  mqtt_username: u\n  mqtt_password_file: x\n", env()) ==
              f + ":4:3: cloud.mqtt_username is only used in certificate mode (with cloud.certificate)\n" + f +
                  ":5:3: cloud.mqtt_password_file is only used in certificate mode (with cloud.certificate)");
    }
}
