#include "state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace bluetti::util {

namespace {

std::string failure(const std::filesystem::path& path, std::string_view step, int code) {
    return path.string() + ": cannot " + std::string(step) + ": " + std::strerror(code);
}

bool write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// The rename is durable only once the directory entry is on disk too.
int fsync_directory(const std::filesystem::path& dir) {
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    const int rc = ::fsync(fd) == 0 ? 0 : errno;
    ::close(fd);
    return rc;
}

}  // namespace

Result<Ok, std::string> write_state_file(const std::filesystem::path& path, std::string_view content) {
    const std::filesystem::path temp = path.string() + ".tmp";
    // A temp file left by a crash may have other bits or another owner: start from a fresh inode
    // (if it cannot be removed, the exclusive create below fails and says why).
    ::unlink(temp.c_str());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail(failure(temp, "create", errno));
    int code = 0;
    std::string_view step;
    if (!write_all(fd, content)) {
        code = errno;
        step = "write";
    } else if (::fsync(fd) != 0) {
        code = errno;
        step = "fsync";
    }
    if (::close(fd) != 0 && code == 0) {
        code = errno;
        step = "close";
    }
    if (code == 0 && ::rename(temp.c_str(), path.c_str()) != 0) {
        code = errno;
        step = "rename into place";
    }
    if (code != 0) {
        ::unlink(temp.c_str());
        return fail(failure(step == "rename into place" ? path : temp, step, code));
    }
    if (const int rc = fsync_directory(path.parent_path())) return fail(failure(path.parent_path(), "fsync", rc));
    return Ok{};
}

Result<Ok, std::string> make_state_dir(const std::filesystem::path& dir) {
    std::error_code ec;
    if (dir.has_parent_path() && dir.parent_path() != dir) std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec) return fail(dir.parent_path().string() + ": cannot create: " + ec.message());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail(failure(dir, "create", errno));
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return fail(failure(dir, "read", errno));
    if (!S_ISDIR(st.st_mode)) return fail(dir.string() + ": is not a directory");
    return Ok{};
}

}  // namespace bluetti::util
