// Files the configuration names (util/bounded_file.hpp): only regular files up to a size are read;
// a FIFO is refused at once instead of blocking, /dev/zero instead of exhausting memory.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.hpp"
#include "util/bounded_file.hpp"

using namespace bluetti;
namespace fs = std::filesystem;

namespace {

using test::TempDir;
}  // namespace

TEST_CASE("bounded file: a regular file is read whole, up to the limit") {
    TempDir dir;
    const fs::path file = dir.path / "secret";
    std::ofstream(file, std::ios::binary) << std::string(4096, 's');
    auto r = util::read_bounded_file(file.string(), 4096);
    REQUIRE(r.ok());
    CHECK(r->size() == 4096);
    r = util::read_bounded_file(file.string(), 4095);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == 0);
    CHECK(r.error().message == "is larger than 4095 bytes");
}

TEST_CASE("bounded file: a FIFO, a device, a directory are refused without reading, errno errors keep their code") {
    TempDir dir;
    const fs::path fifo = dir.path / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto r = util::read_bounded_file(fifo.string(), 4096);  // returns at once: no writer needed
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "is a FIFO, not a regular file");

    r = util::read_bounded_file("/dev/zero", 4096);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "is a character device, not a regular file");

    r = util::read_bounded_file(dir.path.string(), 4096);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EISDIR);

    r = util::read_bounded_file((dir.path / "missing").string(), 4096);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ENOENT);
}

TEST_CASE("bounded file: a file that turns out larger than its stat size stops at the limit") {
    // /proc/self/status: a regular file whose size reads 0, holding over a kilobyte.
    auto r = util::read_bounded_file("/proc/self/status", 64);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == 0);
    CHECK(r.error().message == "is larger than 64 bytes");

    r = util::read_bounded_file("/proc/self/status", 1 << 20);
    REQUIRE(r.ok());
    CHECK(r->rfind("Name:", 0) == 0);
}
