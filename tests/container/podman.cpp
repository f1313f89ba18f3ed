#include "podman.hpp"

#include <unistd.h>

#include <fstream>
#include <iostream>

namespace bluetti::systest {

namespace {

using namespace std::chrono_literals;

// The packages the base gets: the programs' run-time libraries (the list the Containerfile installs
// from) and what the add-on's entry point uses.
std::string base_packages(const std::string& source_dir) {
    std::ifstream in(source_dir + "/packaging/container/runtime-packages");
    std::string list = "curl,jq";
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') list += "," + line;
    return list;
}

}  // namespace

Podman::Podman() : tag_(std::to_string(::getpid())) {
    base_ = "localhost/bluetti-test-base:" + tag_;
    image_ = "localhost/bluetti-test-image:" + tag_;
    addon_ = "localhost/bluetti-test-addon:" + tag_;
}

Podman::~Podman() {
    remove_all();
}

std::vector<std::string> Podman::args(std::vector<std::string> args) const {
    // crun fails on this machine's hybrid cgroup layout; runc with cgroupfs works (and elsewhere too).
    std::vector<std::string> all{"--root", work_.file("storage"), "--runroot", work_.file("run"),  "--runtime",
                                 "runc",   "--cgroup-manager",    "cgroupfs",  "--events-backend", "file"};
    all.insert(all.end(), args.begin(), args.end());
    return all;
}

CommandResult Podman::run(std::vector<std::string> a, std::chrono::milliseconds timeout) const {
    return run_command("podman", args(std::move(a)), timeout);
}

std::vector<std::string> Podman::run_options() {
    return {"--pull=never", "--network=host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"};
}

std::string Podman::name(const std::string& what) {
    names_.push_back("bluetti-test-" + what + "-" + tag_);
    return names_.back();
}

int Podman::step(const std::vector<std::string>& a, std::chrono::milliseconds timeout, const std::string& what, std::string& why) const {
    const auto r = run_command(a[0], std::vector<std::string>(a.begin() + 1, a.end()), timeout);
    if (r.status == 0) return 0;
    why = what + " failed (status " + std::to_string(r.status) + "):\n" + r.output;
    return 1;
}

int Podman::build_images(const std::string& source_dir, const std::string& build_dir, std::string& why) {
    // Before the minutes of mmdebstrap: a podman that cannot even set up its store here.
    const auto info = run({"info"}, 120s);
    if (info.status != 0) {
        why = "podman does not work here:\n" + info.output;
        return 77;
    }
    const std::string tar = work_.file("base.tar");
    // One mmdebstrap per test run: a minimal Debian 12 with the run-time packages, from the archive.
    std::cerr << "container: mmdebstrap bookworm (minbase + " << base_packages(source_dir) << ")\n";
    if (step({"mmdebstrap", "--quiet", "--variant=minbase", "--include=" + base_packages(source_dir), "bookworm", tar}, 900s, "mmdebstrap",
             why))
        return 1;
    auto imported = run({"import", "--change", "CMD=[\"/bin/bash\"]", tar, base_}, 300s);
    std::remove(tar.c_str());
    if (imported.status != 0) {
        why = "podman import failed:\n" + imported.output;
        return 77;  // no usable podman store here
    }
    auto probe = args({"run", "--rm"});
    for (const auto& o : run_options()) probe.push_back(o);
    probe.insert(probe.end(), {base_, "/bin/true"});
    const auto ran = run_command("podman", probe, 120s);
    if (ran.status != 0) {
        why = "podman cannot run a container here:\n" + ran.output;
        return 77;
    }
    const std::string stage = source_dir + "/packaging/container/stage";
    const std::string image_context = work_.file("image-context"), addon_context = work_.file("addon-context");
    if (step({stage, build_dir, image_context}, 120s, "stage (image)", why) ||
        step({stage, "--addon", build_dir, addon_context}, 120s, "stage (add-on)", why))
        return 1;
    // Docker format: OCI images drop HEALTHCHECK.
    auto build = [&](const std::vector<std::string>& extra, const std::string& context, const std::string& what) {
        auto a = args({"build", "--format", "docker", "--network=host", "--pull=never"});
        a.insert(a.end(), extra.begin(), extra.end());
        a.push_back(context);
        a.insert(a.begin(), "podman");
        return step(a, 600s, what, why);
    };
    if (build({"--build-arg", "BASE=" + base_, "-t", image_, "-f", image_context + "/Containerfile"}, image_context,
              "podman build (Containerfile)") ||
        build({"--build-arg", "BUILD_FROM=" + base_, "-t", addon_}, addon_context, "podman build (add-on Dockerfile)"))
        return 1;
    return 0;
}

void Podman::remove_all() {
    if (removed_) return;
    removed_ = true;
    for (const auto& n : names_) {
        run({"rm", "--force", "--ignore", n}, 60s);
        run({"volume", "rm", "--force", n}, 60s);
    }
    run({"rmi", "--force", "--ignore", addon_, image_, base_}, 120s);
}

}  // namespace bluetti::systest
