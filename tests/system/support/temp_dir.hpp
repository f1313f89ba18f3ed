// TempDir: a private directory under $TMPDIR (or /tmp) for one test's files — broker configs,
// certificates, logs, ready files — removed with everything in it when the object goes away.
// Set BLUETTI_KEEP_TEST_DIRS=1 to keep it for a post-mortem (its path is printed then).
#pragma once

#include <string>

namespace bluetti::systest {

class TempDir {
public:
    explicit TempDir(const std::string& prefix = "bluetti-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    // path() + "/" + name
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// Whole-file helpers for tests (empty string / false when the file cannot be read / written).
std::string read_text_file(const std::string& path);
bool write_text_file(const std::string& path, const std::string& text);

}  // namespace bluetti::systest
