#include "poll_scheduler.hpp"

#include <algorithm>

#include "bluetti/fnv1a.hpp"

namespace bluetti::bridge {

double PollScheduler::phase_of(const std::string& serial) {
    return static_cast<double>(fnv1a64(serial) % 1000) / 1000.0;
}

std::optional<DuePoll> PollScheduler::next(Clock::time_point now, const std::function<bool(const std::string&)>& busy) {
    for (auto place = ready_.begin(); place != ready_.end() && place->due <= now; ++place)
        if (!busy(place->schedule->device())) return place->schedule->start(now);  // takes it out of ready_
    return std::nullopt;
}

std::optional<Clock::time_point> PollScheduler::next_due() const {
    if (ready_.empty()) return std::nullopt;
    return ready_.begin()->due;
}

PollSchedule::PollSchedule(PollScheduler& scheduler, std::string device, const std::vector<GroupSchedule>& groups, Clock::time_point now,
                           double phase)
    : scheduler_(scheduler),
      device_(std::move(device)),
      order_(scheduler.next_order_++),
      anchor_(now),
      phase_(std::clamp(phase, 0.0, 1.0)) {
    // Stagger the first polls by a millisecond per group so "most overdue" keeps the given order.
    auto due = now - std::chrono::milliseconds(static_cast<long long>(groups.size()));
    for (const auto& g : groups) {
        groups_.push_back(Group{g, due, due});
        due += std::chrono::milliseconds(1);
    }
    refresh();
}

PollSchedule::~PollSchedule() {
    if (place_) scheduler_.ready_.erase(*place_);
}

Clock::time_point PollSchedule::on_grid(const Group& g, Clock::time_point t) const {
    const auto interval = std::chrono::duration_cast<Clock::duration>(g.schedule.interval);
    if (interval.count() <= 0) return t;
    const auto origin = anchor_ + std::chrono::duration_cast<Clock::duration>(interval * phase_);
    if (t <= origin) return origin;
    const auto steps = (t - origin + interval - Clock::duration(1)) / interval;  // rounded up
    return origin + steps * interval;
}

void PollSchedule::update_intervals(const std::vector<GroupSchedule>& groups) {
    for (auto& g : groups_) {
        for (const auto& s : groups) {
            if (s.name != g.schedule.name) continue;
            const auto last_run = g.due - g.schedule.interval;
            g.schedule = s;
            g.due = on_grid(g, last_run + s.interval);
        }
    }
    refresh();
}

void PollSchedule::polled(const std::string& group, Clock::time_point now) {
    // The next grid moment at least half an interval away: a poll that ran late keeps its place.
    for (auto& g : groups_)
        if (g.schedule.name == group) g.due = on_grid(g, now + g.schedule.interval / 2);
    running_ = false;
    refresh();
}

void PollSchedule::pushed(std::uint16_t block, Clock::time_point now) {
    last_push_[block] = now;
    refresh();
}

void PollSchedule::request_now(const std::string& group, Clock::time_point now) {
    for (auto& g : groups_)
        if (g.schedule.name == group) g.due = std::min(g.due, now);
    refresh();
}

Clock::time_point PollSchedule::effective_due(const Group& g) const {
    if (g.schedule.blocks.empty()) return g.due;
    Clock::time_point oldest = Clock::time_point::max();
    for (std::uint16_t block : g.schedule.blocks) {
        auto it = last_push_.find(block);
        if (it == last_push_.end()) return g.due;  // some block only comes by polling
        oldest = std::min(oldest, it->second);
    }
    return std::max(g.due, on_grid(g, oldest + g.schedule.interval));
}

void PollSchedule::refresh() {
    for (auto& g : groups_) g.effective = effective_due(g);
    if (place_) scheduler_.ready_.erase(*place_);
    place_.reset();
    if (running_ || groups_.empty()) return;
    auto earliest = groups_.front().effective;
    for (const auto& g : groups_) earliest = std::min(earliest, g.effective);
    place_ = PollScheduler::Place{earliest, last_served_, order_, this};
    scheduler_.ready_.insert(*place_);
}

DuePoll PollSchedule::start(Clock::time_point now) {
    const Group* group = &groups_.front();
    for (const auto& g : groups_)
        if (g.effective < group->effective) group = &g;
    DuePoll poll{this, group->schedule.name};
    last_served_ = now;
    running_ = true;
    // A group skipped because pushes kept it fresh moves its own due time along.
    for (auto& g : groups_) g.due = std::max(g.due, std::min(g.effective, now));
    refresh();  // takes it out of the queue until polled()
    return poll;
}

}  // namespace bluetti::bridge
