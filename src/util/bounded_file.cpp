#include "bounded_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bluetti/secure_clear.hpp"

namespace bluetti::util {

namespace {

std::string kind_of(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a plain file";
}

FileError system_error(int code) {
    return FileError{code, std::strerror(code)};
}

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace

Result<std::string, FileError> read_bounded_file(const std::string& path, std::size_t max_bytes) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (fd.get() < 0) return fail(system_error(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fail(system_error(errno));
    if (S_ISDIR(st.st_mode)) return fail(system_error(EISDIR));  // as read(2) would say
    if (!S_ISREG(st.st_mode)) return fail(FileError{0, "is " + kind_of(st.st_mode) + ", not a regular file"});
    const std::string too_big = "is larger than " + std::to_string(max_bytes) + " bytes";
    if (st.st_size < 0 || static_cast<std::size_t>(st.st_size) > max_bytes) return fail(FileError{0, too_big});
    std::string text;
    text.reserve(static_cast<std::size_t>(st.st_size) + 1);
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int code = errno;
            OPENSSL_cleanse(buffer, sizeof buffer);
            secure_clear(text);
            return fail(system_error(code));
        }
        if (n == 0) break;
        if (text.size() + static_cast<std::size_t>(n) > max_bytes) {  // it grew after fstat
            OPENSSL_cleanse(buffer, sizeof buffer);
            secure_clear(text);
            return fail(FileError{0, too_big});
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
    OPENSSL_cleanse(buffer, sizeof buffer);
    return text;
}

}  // namespace bluetti::util
