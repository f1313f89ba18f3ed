#include "poll_scheduler.hpp"

#include <algorithm>

#include "bluetti/fnv1a.hpp"

namespace bluetti::bridge {

double PollScheduler::phase_of(const std::string& serial) {
    return static_cast<double>(fnv1a64(serial) % 1000) / 1000.0;
}

Clock::time_point PollScheduler::on_grid(const Device& d, const Group& g, Clock::time_point t) {
    const auto interval = std::chrono::duration_cast<Clock::duration>(g.schedule.interval);
    if (interval.count() <= 0) return t;
    const auto origin = d.anchor + std::chrono::duration_cast<Clock::duration>(interval * d.phase);
    if (t <= origin) return origin;
    const auto steps = (t - origin + interval - Clock::duration(1)) / interval;  // rounded up
    return origin + steps * interval;
}

void PollScheduler::add_device(const std::string& device, const std::vector<GroupSchedule>& groups, Clock::time_point now, double phase) {
    remove_device(device);
    Device d;
    d.name = device;
    d.order = next_order_++;
    d.anchor = now;
    d.phase = std::clamp(phase, 0.0, 1.0);
    // Stagger the first polls by a millisecond per group so "most overdue" keeps the given order.
    auto due = now - std::chrono::milliseconds(static_cast<long long>(groups.size()));
    for (const auto& g : groups) {
        d.groups.push_back(Group{g, due, due});
        due += std::chrono::milliseconds(1);
    }
    refresh(devices_.emplace(device, std::move(d)).first->second);
}

void PollScheduler::remove_device(const std::string& device) {
    auto it = devices_.find(device);
    if (it == devices_.end()) return;
    if (it->second.place) ready_.erase(*it->second.place);
    devices_.erase(it);
}

void PollScheduler::update_intervals(const std::string& device, const std::vector<GroupSchedule>& groups) {
    auto it = devices_.find(device);
    if (it == devices_.end()) return;
    for (auto& g : it->second.groups) {
        for (const auto& s : groups) {
            if (s.name != g.schedule.name) continue;
            const auto last_run = g.due - g.schedule.interval;
            g.schedule = s;
            g.due = on_grid(it->second, g, last_run + s.interval);
        }
    }
    refresh(it->second);
}

void PollScheduler::polled(const std::string& device, const std::string& group, Clock::time_point now) {
    auto it = devices_.find(device);
    if (it == devices_.end()) return;
    // The next grid moment at least half an interval away: a poll that ran late keeps its place.
    for (auto& g : it->second.groups)
        if (g.schedule.name == group) g.due = on_grid(it->second, g, now + g.schedule.interval / 2);
    it->second.running = false;
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
    return std::max(g.due, on_grid(d, g, oldest + g.schedule.interval));
}

void PollScheduler::refresh(Device& d) {
    for (auto& g : d.groups) g.effective = effective_due(d, g);
    if (d.place) ready_.erase(*d.place);
    d.place.reset();
    if (d.running || d.groups.empty()) return;
    auto earliest = d.groups.front().effective;
    for (const auto& g : d.groups) earliest = std::min(earliest, g.effective);
    d.place = Place{earliest, d.last_served, d.order, &d};
    ready_.insert(*d.place);
}

std::optional<DuePoll> PollScheduler::next(Clock::time_point now, const std::function<bool(const std::string&)>& busy) {
    for (auto place = ready_.begin(); place != ready_.end() && place->due <= now; ++place) {
        Device& d = *place->device;
        if (busy(d.name)) continue;
        // The device's most overdue group; the first in profile order among equals.
        const Group* group = &d.groups.front();
        for (const auto& g : d.groups)
            if (g.effective < group->effective) group = &g;
        DuePoll poll{d.name, group->schedule.name};
        d.last_served = now;
        d.running = true;
        // A group skipped because pushes kept it fresh moves its own due time along.
        for (auto& g : d.groups) g.due = std::max(g.due, std::min(g.effective, now));
        refresh(d);  // takes it out of ready_ until polled()
        return poll;
    }
    return std::nullopt;
}

std::optional<Clock::time_point> PollScheduler::next_due() const {
    if (ready_.empty()) return std::nullopt;
    return ready_.begin()->due;
}

}  // namespace bluetti::bridge
