// PollSchedule and PollScheduler: when each device's poll groups are due (docs/style.md #9:
// scheduler state lives in an object). Each device's schedule (its groups' due times, its pushes,
// its phase) is a PollSchedule its Station owns; the one PollScheduler only orders the schedules
// that registered with it and hands out the next poll. The most overdue group goes first; ties go
// to the device served longest ago, so one busy device cannot starve the others. A block that
// arrived as a push counts as polled: a group whose blocks were all refreshed within its interval
// is not polled again (docs/protocol.md §7.2). Pure: the caller passes the time and says which
// devices are busy.
//
// A poll handed out by next() runs until polled() on its schedule: the device is out of the running
// meanwhile. The schedules that can be polled are kept ordered by their earliest due group, so
// next() and next_due() look only at the front instead of at every device (a burst of 4,000
// devices' core polls would otherwise cost n² comparisons).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bluetti::bridge {

using Clock = std::chrono::steady_clock;

struct GroupSchedule {
    std::string name;
    std::chrono::milliseconds interval{0};
    std::vector<std::uint16_t> blocks;
};

class PollSchedule;

struct DuePoll {
    PollSchedule* schedule = nullptr;
    std::string group;
};

class PollScheduler {
public:
    PollScheduler() = default;
    PollScheduler(const PollScheduler&) = delete;
    PollScheduler& operator=(const PollScheduler&) = delete;

    // The poll to run now, if any: due, on a device with no poll of ours running and for which
    // `busy` (given the device's name) is false.
    std::optional<DuePoll> next(Clock::time_point now, const std::function<bool(const std::string&)>& busy);
    // The earliest moment anything falls due on a device with no poll running (for the loop's timer).
    std::optional<Clock::time_point> next_due() const;

    // A device's place in each of its intervals, stable per serial: restarts keep the spacing.
    static double phase_of(const std::string& serial);

private:
    friend class PollSchedule;
    // A schedule's place in the queue: its most overdue group first, then the device served
    // longest ago, then the device added first.
    struct Place {
        Clock::time_point due;
        Clock::time_point served;
        std::uint64_t order;
        PollSchedule* schedule;
        bool operator<(const Place& o) const {
            if (due != o.due) return due < o.due;
            if (served != o.served) return served < o.served;
            return order < o.order;
        }
    };
    std::set<Place> ready_;  // every registered schedule not running
    std::uint64_t next_order_ = 0;
};

// One device's schedule, in its scheduler's queue from construction to destruction (the scheduler
// must outlive it).
class PollSchedule {
public:
    // Every group is due at once (`now`), most overdue = the order given. After its first poll a
    // group falls due on the device's grid: now + (phase + k) × interval, phase in [0, 1). Devices
    // with different phases (PollScheduler::phase_of(serial)) spread their polls over each interval
    // instead of all falling due in the same second, and late replies, retries and pushes do not
    // bunch them again: a poll that ran late is next due on the grid, not an interval after it ran.
    PollSchedule(PollScheduler& scheduler, std::string device, const std::vector<GroupSchedule>& groups, Clock::time_point now,
                 double phase = 0);
    ~PollSchedule();
    PollSchedule(const PollSchedule&) = delete;
    PollSchedule& operator=(const PollSchedule&) = delete;

    const std::string& device() const { return device_; }
    // Changes intervals in place, keeping when each group last ran.
    void update_intervals(const std::vector<GroupSchedule>& groups);
    // The group polled (successfully or not) at `now`: next due after its interval. Ends the poll
    // next() handed out for the device.
    void polled(const std::string& group, Clock::time_point now);
    // A block's data arrived unsolicited at `now`.
    void pushed(std::uint16_t block, Clock::time_point now);
    // Brings a group forward (e.g. settings right after a write).
    void request_now(const std::string& group, Clock::time_point now);

private:
    friend class PollScheduler;
    struct Group {
        GroupSchedule schedule;
        Clock::time_point due;
        Clock::time_point effective;  // effective_due(), kept current by refresh(): next() reads it
    };
    PollScheduler& scheduler_;
    std::string device_;
    std::vector<Group> groups_;
    std::map<std::uint16_t, Clock::time_point> last_push_;
    Clock::time_point last_served_{};
    std::uint64_t order_ = 0;     // insertion order, the last tie-break
    Clock::time_point anchor_{};  // constructed at + phase: the origin of every group's grid
    double phase_ = 0;
    bool running_ = false;                       // handed out by next(), not yet polled()
    std::optional<PollScheduler::Place> place_;  // in the scheduler's ready_ while not running

    // The first moment of the group's grid at or after `t`.
    Clock::time_point on_grid(const Group& g, Clock::time_point t) const;
    // The due time of a group, pushed back when pushes refreshed all its blocks.
    Clock::time_point effective_due(const Group& g) const;
    // Recomputes every group's `effective` after its due time or the pushes changed, and the
    // schedule's place in the queue.
    void refresh();
    // The poll next() hands out at `now`: the most overdue group, the first in order among equals.
    DuePoll start(Clock::time_point now);
};

}  // namespace bluetti::bridge
