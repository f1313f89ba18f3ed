// ControlWriter: the write procedure of docs/protocol.md §8 for one station, without a broker. A
// command is validated first (known control, value in range or among the options) and refused
// with a reason otherwise; accepted commands wait per key, so a burst keeps only the latest value;
// at most one write per key per second; one write at a time, each followed by a re-read of its
// settings block whatever the outcome — the re-read, not the command, is what Home Assistant sees.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/cloud/device_channel.hpp"
#include "bluetti/event_loop.hpp"
#include "bluetti/profile/controls.hpp"

namespace bluetti::bridge {

struct ControlWriterHooks {
    // FC 06 through the device channel (which serialises it with the polls and retries timeouts).
    std::function<void(const profile::Control&, std::uint16_t value, cloud::DeviceChannel::Callback<cloud::WriteConfirmation>)> write;
    // Re-read the control's settings block; `done` once it was read (or failed).
    std::function<void(const profile::Control&, std::uint16_t written, std::function<void()> done)> reread;
    // The last values read of the controls (for the rules between them).
    std::function<std::map<std::string, std::int64_t>()> settings;
};

struct ControlStats {
    std::uint64_t commands = 0;  // accepted
    std::uint64_t rejected = 0;  // refused before anything was sent
    std::uint64_t writes = 0;    // confirmed by the echo
    std::uint64_t failures = 0;  // not confirmed after the retries, or refused by the device
    std::string last_error;      // of the latest failure or rejection
};

class ControlWriter {
public:
    static constexpr std::chrono::milliseconds kMinInterval{1000};  // per key
    // The longest payload read: a valid command is an option label or a number, a few dozen bytes
    // at most; anything longer is refused before it is parsed or shown.
    static constexpr std::size_t kMaxPayloadBytes = 256;

    ControlWriter(Scheduler& scheduler, std::string device, ControlWriterHooks hooks);
    ~ControlWriter();
    ControlWriter(const ControlWriter&) = delete;
    ControlWriter& operator=(const ControlWriter&) = delete;

    void set_controls(std::vector<profile::Control> controls);
    const std::vector<profile::Control>& controls() const { return controls_; }
    const profile::Control* find(std::string_view key) const;

    // Accepts (queues) the command, or returns why it is refused; nothing is sent when refused.
    std::optional<std::string> command(std::string_view key, std::string_view payload);
    bool busy() const { return in_flight_ || !pending_.empty(); }
    const ControlStats& stats() const { return stats_; }

private:
    Scheduler& scheduler_;
    std::string device_;
    ControlWriterHooks hooks_;
    std::vector<profile::Control> controls_;
    std::map<std::string, std::uint16_t> pending_;  // key -> latest value
    std::map<std::string, Scheduler::Clock::time_point> last_sent_;
    bool in_flight_ = false;
    Scheduler::TimerId timer_ = 0;
    ControlStats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

    void pump();
};

}  // namespace bluetti::bridge
