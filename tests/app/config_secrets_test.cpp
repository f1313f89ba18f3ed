// load_config() and the files it reads for secrets and certificates: only regular files of a
// bounded size (a FIFO would hang the daemon, /dev/zero exhaust its memory), refused with the
// key's position; a plain-http REST gateway only with tls_insecure.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config.hpp"
#include "temp_dir.hpp"

using namespace bluetti;
namespace fs = std::filesystem;

namespace {

using test::TempDir;
app::ConfigEnvironment hermetic(std::map<std::string, std::string> variables = {}) {
    variables.emplace("BLUETTI_TEST_HERMETIC", "1");
    return app::ConfigEnvironment{std::move(variables)};
}

std::string account(const std::string& password_line, const std::string& extra = "") {
    return "cloud:\n  email: me@example.com\n" + password_line + extra + "homeassistant:\n  broker: mqtt://127.0.0.1\n";
}

}  // namespace

TEST_CASE("config: a password_file that is a FIFO, a device or too large is refused at its key") {
    TempDir dir;
    const std::string fifo = (dir.path / "pw.fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string big = dir.write("big.password", std::string(5000, 'x'));
    // The environment would give the password: a wrong kind of file is still an error, not skipped.
    const auto e = hermetic({{"BLUETTI_PASSWORD", "from-env"}});
    for (const auto& [file_, why] : {std::pair<std::string, std::string>{fifo, "is a FIFO, not a regular file"},
                                     {"/dev/zero", "is a character device, not a regular file"},
                                     {big, "is larger than 4096 bytes"}}) {
        const std::string& file = file_;  // a named copy: clang 14 cannot capture a structured binding
        CAPTURE(file);
        const std::string config = dir.write("config.yaml", account("  password_file: " + file + "\n"));
        auto c = app::load_config(config, e);  // returns: a FIFO without a writer never blocks
        REQUIRE_FALSE(c.ok());
        CHECK(c.error() == config + ":3:18: cloud.password_file '" + file + "' " + why);
    }
}

TEST_CASE("config: a credential that is not a regular file is refused, certificate files too") {
    TempDir dir;
    fs::create_directory(dir.path / "creds");
    REQUIRE(::mkfifo((dir.path / "creds" / "bluetti-password").c_str(), 0600) == 0);
    const std::string config = dir.write("config.yaml", account(""));
    auto c = app::load_config(config, hermetic({{"CREDENTIALS_DIRECTORY", (dir.path / "creds").string()}}));
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().find("systemd credential '" + (dir.path / "creds" / "bluetti-password").string() + "' is a FIFO, not a regular file") !=
          std::string::npos);

    const std::string with_ca = dir.write("ca.yaml", account("  password: pw\n", "  ca_file: /dev/zero\n"));
    c = app::load_config(with_ca, hermetic());
    REQUIRE_FALSE(c.ok());
    CHECK(c.error() == with_ca + ":4:12: cloud.ca_file '/dev/zero' is a character device, not a regular file");
}

TEST_CASE("config: cloud.api over plain http only with tls_insecure") {
    TempDir dir;
    const std::string config = dir.write("config.yaml", account("  password: pw\n", "  api: http://127.0.0.1:8080\n"));
    auto c = app::load_config(config, hermetic());
    REQUIRE_FALSE(c.ok());
    CHECK(c.error() == config +
                           ":4:8: cloud.api 'http://127.0.0.1:8080' is plain http://: the login would reveal the password to the network; "
                           "use https:// (or set cloud.tls_insecure: true for a test gateway)");
    const std::string insecure =
        dir.write("insecure.yaml", account("  password: pw\n", "  api: http://127.0.0.1:8080\n  tls_insecure: true\n"));
    c = app::load_config(insecure, hermetic());
    REQUIRE_MESSAGE(c.ok(), c.error());
    CHECK(c->cloud.api == "http://127.0.0.1:8080");
    CHECK(app::load_config(dir.write("https.yaml", account("  password: pw\n", "  api: https://127.0.0.1:8443\n")), hermetic()).ok());
}
