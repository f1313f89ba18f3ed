#include "state_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace bluetti::app {

namespace {

namespace fs = std::filesystem;

// Creates and removes a file in the directory: what a state save does first.
std::optional<std::string> probe_writable(const std::string& dir) {
    std::string name = (fs::path(dir) / ".bluetti-bridge-probe-XXXXXX").string();
    std::vector<char> buffer(name.begin(), name.end());
    buffer.push_back('\0');
    const int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
    if (fd < 0) return "is not writable: " + std::string(std::strerror(errno));
    ::close(fd);
    ::unlink(buffer.data());
    return std::nullopt;
}

// For a directory that does not exist yet: could it be created? Its nearest existing ancestor must
// be a directory we may write in.
std::optional<std::string> could_create(const fs::path& dir) {
    fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
    struct stat st {};
    while (::stat(parent.c_str(), &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) return "cannot be created: '" + parent.string() + "': " + std::strerror(errno);
        const fs::path up = parent.parent_path().empty() ? fs::path(".") : parent.parent_path();
        if (up == parent) return "cannot be created: none of its parents exists";
        parent = up;
    }
    if (!S_ISDIR(st.st_mode)) return "cannot be created: '" + parent.string() + "' is not a directory";
    if (::access(parent.c_str(), W_OK | X_OK) != 0)
        return "cannot be created in '" + parent.string() + "': " + std::string(std::strerror(errno));
    return std::nullopt;
}

}  // namespace

std::optional<std::string> state_dir_problem(const std::string& dir, bool create) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) return "cannot be read: " + std::string(std::strerror(errno));
        if (!create) return could_create(fs::path(dir).lexically_normal());
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) return "cannot be created: " + ec.message();
        if (::stat(dir.c_str(), &st) != 0) return "cannot be read: " + std::string(std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) return std::string("is not a directory");
    return probe_writable(dir);
}

std::optional<std::string> check_state_dir(const Config& config, bool create) {
    const auto problem = state_dir_problem(config.state_dir, create);
    if (!problem) return std::nullopt;
    if (!config.state_dir_where.empty()) return config.state_dir_where + ": state_dir '" + config.state_dir + "' " + *problem;
    return config.file + ": the state directory '" + config.state_dir + "' (the default; set state_dir to choose another) " + *problem;
}

}  // namespace bluetti::app
