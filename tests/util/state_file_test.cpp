// The one writer of state files (util/state_file.hpp): a new file is 0600 from its first byte, the
// content is replaced whole, failures come back as errors (never exceptions) and leave no temp
// file; the state directory is created 0700.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "temp_dir.hpp"
#include "util/state_file.hpp"

using namespace bluetti;
namespace fs = std::filesystem;

namespace {

using test::TempDir;
unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs `body` with a permissive umask, so a mode the helper does not set itself would show.
template <class F>
void with_umask(mode_t mask, F body) {
    const mode_t old = ::umask(mask);
    body();
    ::umask(old);
}

}  // namespace

TEST_CASE("state file: created 0600 whatever the umask, replaced whole, no temp file left") {
    TempDir dir;
    const fs::path file = dir.path / "counters.json";
    with_umask(0, [&] {
        auto r = util::write_state_file(file, "{\"a\": 1}\n");
        REQUIRE_MESSAGE(r.ok(), r.error());
    });
    CHECK(mode_of(file) == 0600);
    CHECK(read_all(file) == "{\"a\": 1}\n");

    // An older file with looser bits, and a temp file a crash left behind, readable by everyone.
    fs::permissions(file, fs::perms::all);
    std::ofstream(file.string() + ".tmp") << "stale";
    fs::permissions(file.string() + ".tmp", fs::perms::all);
    with_umask(0, [&] { REQUIRE(util::write_state_file(file, "second").ok()); });
    CHECK(mode_of(file) == 0600);
    CHECK(read_all(file) == "second");
    CHECK_FALSE(fs::exists(file.string() + ".tmp"));
}

TEST_CASE("state file: a file nobody may create is an error result naming it, not an exception") {
    TempDir dir;
    // root may write into a 0500 directory; a path below a regular file fails for everyone.
    const fs::path blocker = dir.path / "not-a-directory";
    std::ofstream(blocker) << "x";
    Result<Ok, std::string> r = Ok{};
    CHECK_NOTHROW(r = util::write_state_file(blocker / "counters.json", "{}"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find((blocker / "counters.json.tmp").string() + ": cannot create: Not a directory") == 0);

    if (::geteuid() != 0) {
        const fs::path locked = dir.path / "locked";
        fs::create_directory(locked);
        fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
        CHECK_NOTHROW(r = util::write_state_file(locked / "stations.json", "{}"));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().find("Permission denied") != std::string::npos);
    }

    // The rename fails (the target is a non-empty directory): error, the temp file is gone, the
    // directory untouched.
    const fs::path occupied = dir.path / "occupied";
    fs::create_directories(occupied / "inside");
    CHECK_NOTHROW(r = util::write_state_file(occupied, "{}"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find(occupied.string() + ": cannot rename into place: ") == 0);
    CHECK_FALSE(fs::exists(occupied.string() + ".tmp"));
    CHECK(fs::is_directory(occupied / "inside"));
}

TEST_CASE("state directory: created 0700 with its parents, an existing one accepted, a file refused") {
    TempDir dir;
    const fs::path state = dir.path / "var" / "lib" / "bluetti-bridge";
    with_umask(0, [&] {
        auto r = util::make_state_dir(state);
        REQUIRE_MESSAGE(r.ok(), r.error());
    });
    CHECK(mode_of(state) == 0700);
    CHECK(util::make_state_dir(state).ok());
    const fs::path file = dir.path / "file";
    std::ofstream(file) << "x";
    auto r = util::make_state_dir(file);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == file.string() + ": is not a directory");
}
