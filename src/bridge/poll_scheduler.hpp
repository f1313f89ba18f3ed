// PollScheduler: when each device's poll groups are due (house-style #9: scheduler state lives in
// an object). The most overdue group goes first; ties go to the device served longest ago, so one
// busy device cannot starve the others. A block that arrived as a push counts as polled: a group
// whose blocks were all refreshed within its interval is not polled again (protocol.md §7.2).
// Pure: the caller passes the time and says which devices are busy.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bluetti::bridge {

using Clock = std::chrono::steady_clock;

struct GroupSchedule {
    std::string name;
    std::chrono::milliseconds interval{0};
    std::vector<std::uint16_t> blocks;
};

struct DuePoll {
    std::string device;
    std::string group;
};

class PollScheduler {
public:
    // Every group is due at once (`now`), most overdue = the order given.
    void add_device(const std::string& device, const std::vector<GroupSchedule>& groups, Clock::time_point now);
    void remove_device(const std::string& device);
    bool has_device(const std::string& device) const { return devices_.count(device) > 0; }
    // Changes intervals in place, keeping when each group last ran.
    void update_intervals(const std::string& device, const std::vector<GroupSchedule>& groups);

    // The group polled (successfully or not) at `now`: next due after its interval.
    void polled(const std::string& device, const std::string& group, Clock::time_point now);
    // A block's data arrived unsolicited at `now`.
    void pushed(const std::string& device, std::uint16_t block, Clock::time_point now);
    // Brings a group forward (e.g. settings right after a write).
    void request_now(const std::string& device, const std::string& group, Clock::time_point now);

    // The poll to run now, if any: due, on a device for which `busy` is false.
    std::optional<DuePoll> next(Clock::time_point now, const std::function<bool(const std::string&)>& busy);
    // The earliest moment anything falls due (for the loop's timer).
    std::optional<Clock::time_point> next_due() const;

private:
    struct Group {
        GroupSchedule schedule;
        Clock::time_point due;
        Clock::time_point effective;  // effective_due(), kept current by refresh(): next() reads it
    };
    struct Device {
        std::vector<Group> groups;
        std::map<std::uint16_t, Clock::time_point> last_push;
        Clock::time_point last_served{};
        std::uint64_t order = 0;  // insertion order, the last tie-break
    };
    std::map<std::string, Device> devices_;
    std::uint64_t next_order_ = 0;

    // The due time of a group, pushed back when pushes refreshed all its blocks.
    Clock::time_point effective_due(const Device& d, const Group& g) const;
    // Recomputes every group's `effective` after its due time or the device's pushes changed:
    // next() and next_due() run after every poll over every device, so they only compare times.
    void refresh(Device& d) const;
};

}  // namespace bluetti::bridge
