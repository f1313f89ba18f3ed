// The state directory is checked before anything is written to it: by --check-config (nothing
// created) and at the daemon's start (created if missing), with the state_dir key's position. The
// unusable directories here fail for root too, who ignores permission bits: a path under a regular
// file, and a regular file.
#include "app/state_dir.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/config_command.hpp"
#include "app/daemon.hpp"
#include "app/exit_status.hpp"

using namespace bluetti;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "bluetti-state-dir-test-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    std::string config(const std::string& state_dir) const {
        std::ofstream(file("config.yaml")) << "cloud:\n  email: a@b.c\n  password: pw\nstate_dir: " << state_dir << "\n";
        return file("config.yaml");
    }
};

}  // namespace

TEST_CASE("state directory: usable, missing, under a file, a file") {
    TempDir dir;
    std::ofstream(dir.file("plain")) << "x";
    CHECK_FALSE(app::state_dir_problem(dir.path.string(), false));
    CHECK(fs::directory_iterator(dir.path) != fs::directory_iterator());  // only "plain": the probe file is gone
    CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);

    // Missing: fine if it can be created; created only when asked to.
    CHECK_FALSE(app::state_dir_problem(dir.file("new/state"), false));
    CHECK_FALSE(fs::exists(dir.file("new")));
    CHECK_FALSE(app::state_dir_problem(dir.file("new/state"), true));
    CHECK(fs::is_directory(dir.file("new/state")));

    const auto under_file = app::state_dir_problem(dir.file("plain/sub/state"), false);
    REQUIRE(under_file);
    CHECK(*under_file == "cannot be created: '" + dir.file("plain") + "' is not a directory");
    const auto under_file_created = app::state_dir_problem(dir.file("plain/sub"), true);
    REQUIRE(under_file_created);
    CHECK(under_file_created->rfind("cannot be created: ", 0) == 0);
    CHECK(app::state_dir_problem(dir.file("plain"), true) == std::optional<std::string>("is not a directory"));
}

TEST_CASE("--check-config: an unusable state_dir is an error at the key, exit 2") {
    TempDir dir;
    std::ofstream(dir.file("plain")) << "x";
    const std::string config = dir.config(dir.file("plain/state"));
    std::ostringstream out, err;
    CHECK(app::run_check_config(config, out, err) == 2);
    CHECK(out.str().empty());
    CHECK(err.str() == config + ":4:12: state_dir '" + dir.file("plain/state") + "' cannot be created: '" + dir.file("plain") +
                           "' is not a directory\n");

    std::ostringstream out_ok, err_ok;
    CHECK(app::run_check_config(dir.config(dir.file("state")), out_ok, err_ok) == 0);
    CHECK_MESSAGE(err_ok.str().empty(), err_ok.str());
    CHECK_FALSE(fs::exists(dir.file("state")));  // checking creates nothing
}

TEST_CASE("daemon start: an unusable state_dir exits 2 before connecting anything") {
    TempDir dir;
    std::ofstream(dir.file("plain")) << "x";
    auto config = app::load_config(dir.config(dir.file("plain")));
    REQUIRE_MESSAGE(config.ok(), config.error());
    app::Daemon daemon(std::move(*config));
    CHECK(daemon.run() == app::kExitConfig);
}
