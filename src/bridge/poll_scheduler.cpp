#include "poll_scheduler.hpp"

#include <algorithm>

namespace bluetti::bridge {

void PollScheduler::add_device(const std::string& device, const std::vector<GroupSchedule>& groups, Clock::time_point now) {
    Device d;
    d.order = next_order_++;
    // Stagger the first polls by a millisecond per group so "most overdue" keeps the given order.
    auto due = now - std::chrono::milliseconds(static_cast<long long>(groups.size()));
    for (const auto& g : groups) {
        d.groups.push_back(Group{g, due, due});
        due += std::chrono::milliseconds(1);
    }
    devices_[device] = std::move(d);
}

void PollScheduler::remove_device(const std::string& device) {
    devices_.erase(device);
}

void PollScheduler::update_intervals(const std::string& device, const std::vector<GroupSchedule>& groups) {
    auto it = devices_.find(device);
    if (it == devices_.end()) return;
    for (auto& g : it->second.groups) {
        for (const auto& s : groups) {
            if (s.name != g.schedule.name) continue;
            const auto last_run = g.due - g.schedule.interval;
            g.schedule = s;
            g.due = last_run + s.interval;
        }
    }
    refresh(it->second);
}

void PollScheduler::polled(const std::string& device, const std::string& group, Clock::time_point now) {
    auto it = devices_.find(device);
    if (it == devices_.end()) return;
    for (auto& g : it->second.groups)
        if (g.schedule.name == group) g.due = now + g.schedule.interval;
    refresh(it->second);
}

void PollScheduler::pushed(const std::string& device, std::uint16_t block, Clock::time_point now) {
    auto it = devices_.find(device);
    if (it == devices_.end()) return;
    it->second.last_push[block] = now;
    refresh(it->second);
}

void PollScheduler::request_now(const std::string& device, const std::string& group, Clock::time_point now) {
    auto it = devices_.find(device);
    if (it == devices_.end()) return;
    for (auto& g : it->second.groups)
        if (g.schedule.name == group) g.due = std::min(g.due, now);
    refresh(it->second);
}

Clock::time_point PollScheduler::effective_due(const Device& d, const Group& g) const {
    if (g.schedule.blocks.empty()) return g.due;
    Clock::time_point oldest = Clock::time_point::max();
    for (std::uint16_t block : g.schedule.blocks) {
        auto it = d.last_push.find(block);
        if (it == d.last_push.end()) return g.due;  // some block only comes by polling
        oldest = std::min(oldest, it->second);
    }
    return std::max(g.due, oldest + g.schedule.interval);
}

void PollScheduler::refresh(Device& d) const {
    for (auto& g : d.groups) g.effective = effective_due(d, g);
}

std::optional<DuePoll> PollScheduler::next(Clock::time_point now, const std::function<bool(const std::string&)>& busy) {
    std::optional<DuePoll> best;
    Clock::duration best_overdue{};
    Clock::time_point best_served{};
    std::uint64_t best_order = 0;
    for (auto& [name, d] : devices_) {
        std::optional<bool> device_busy;  // asked only of devices with a group due
        for (const auto& g : d.groups) {
            const auto due = g.effective;
            if (due > now) continue;
            if (!device_busy) device_busy = busy(name);
            if (*device_busy) break;
            const auto overdue = now - due;
            const bool better =
                !best || overdue > best_overdue ||
                (overdue == best_overdue && (d.last_served < best_served || (d.last_served == best_served && d.order < best_order)));
            if (better) {
                best = DuePoll{name, g.schedule.name};
                best_overdue = overdue;
                best_served = d.last_served;
                best_order = d.order;
            }
        }
    }
    if (best) {
        Device& d = devices_[best->device];
        d.last_served = now;
        // A group skipped because pushes kept it fresh moves its own due time along.
        for (auto& g : d.groups) g.due = std::max(g.due, std::min(g.effective, now));
        refresh(d);
    }
    return best;
}

std::optional<Clock::time_point> PollScheduler::next_due() const {
    std::optional<Clock::time_point> earliest;
    for (const auto& [name, d] : devices_)
        for (const auto& g : d.groups)
            if (!earliest || g.effective < *earliest) earliest = g.effective;
    return earliest;
}

}  // namespace bluetti::bridge
