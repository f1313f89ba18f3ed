// The container images of packaging/ as the tests build them: a Debian 12 base made with
// mmdebstrap from Debian's archive (no registry is needed), imported into podman, and the image and
// the Home Assistant add-on built on it from the programs of this build tree (staged by
// packaging/container/stage; nothing is compiled in a container).
//
// Everything lives in a private podman store (--root/--runroot in a temporary directory): images,
// containers and volumes of one test run, removed by name at the end and the store reset, so no
// other podman user on the machine is touched.
#pragma once

#include <string>
#include <vector>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace bluetti::systest {

class Podman {
public:
    Podman();
    ~Podman();
    Podman(const Podman&) = delete;
    Podman& operator=(const Podman&) = delete;

    // mmdebstrap, import, the two builds. 0 when built, 77 when containers cannot run here (with
    // the reason in `why`), 1 on any other failure (reason in `why`).
    int build_images(const std::string& source_dir, const std::string& build_dir, std::string& why);

    // podman with the store's and this machine's global options, run to completion.
    CommandResult run(std::vector<std::string> args, std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;
    // The full argument list of `podman <args>` for a ChildProcess.
    std::vector<std::string> args(std::vector<std::string> args) const;
    // What `podman run` needs on this machine: host network (the brokers listen on 127.0.0.1) and
    // finite ulimits (runc refuses the unlimited defaults here).
    static std::vector<std::string> run_options();

    const std::string& base() const { return base_; }
    const std::string& image() const { return image_; }
    const std::string& addon() const { return addon_; }
    // A name unique to this run, for containers and volumes (removed by name in the destructor).
    std::string name(const std::string& what);

    // Removes the containers, volumes and images created (by their names).
    void remove_all();

private:
    TempDir work_{"bluetti-container"};
    std::string tag_;
    std::string base_, image_, addon_;
    std::vector<std::string> names_;
    bool removed_ = false;
    int step(const std::vector<std::string>& args, std::chrono::milliseconds timeout, const std::string& what, std::string& why) const;
};

}  // namespace bluetti::systest
