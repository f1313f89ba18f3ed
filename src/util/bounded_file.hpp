// Reading a small file the configuration names (a secret, a certificate, the config itself) so
// that no file can hang or exhaust the daemon: the file is opened non-blocking (a FIFO opens at
// once instead of waiting for a writer), checked with fstat to be a regular file (not /dev/zero, a
// FIFO, a socket; a directory is EISDIR) of at most `max_bytes`, and only then read, never more than that.
#pragma once

#include <cstddef>
#include <string>

#include "bluetti/result.hpp"

namespace bluetti::util {

// Secrets are a password or a token: a few hundred bytes at most.
inline constexpr std::size_t kMaxSecretFileBytes = 4096;
// Certificates, CA bundles, PKCS#12 bundles and the config file itself.
inline constexpr std::size_t kMaxDataFileBytes = 4 * 1024 * 1024;

struct FileError {
    int code = 0;         // errno when the system refused (EISDIR for a directory), 0 for another kind of file or the size
    std::string message;  // "No such file or directory", "is a FIFO, not a regular file", ...
};

// The whole file; the bytes read are wiped from intermediate buffers (the caller owns the result).
Result<std::string, FileError> read_bounded_file(const std::string& path, std::size_t max_bytes);

}  // namespace bluetti::util
