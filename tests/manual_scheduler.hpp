// A Scheduler whose time moves only when the test says so: timeout and retry logic is tested
// exactly, without waiting and without asserting wall-clock times.
#pragma once

#include <map>

#include "bluetti/event_loop.hpp"

namespace bluetti::test {

class ManualScheduler : public Scheduler {
public:
    Clock::time_point now() const override { return now_; }
    TimerId after(std::chrono::milliseconds delay, std::function<void()> callback) override {
        const TimerId id = next_++;
        timers_.emplace(now_ + delay, std::make_pair(id, std::move(callback)));
        return id;
    }
    void cancel(TimerId id) override {
        for (auto it = timers_.begin(); it != timers_.end(); ++it)
            if (it->second.first == id) {
                timers_.erase(it);
                return;
            }
    }
    // Moves time forward, running every timer that falls due on the way, in order.
    void advance(std::chrono::milliseconds by) {
        const auto until = now_ + by;
        while (!timers_.empty() && timers_.begin()->first <= until) {
            now_ = timers_.begin()->first;
            auto callback = std::move(timers_.begin()->second.second);
            timers_.erase(timers_.begin());
            callback();
        }
        now_ = until;
    }
    std::size_t pending() const { return timers_.size(); }

private:
    Clock::time_point now_{std::chrono::hours(1000)};
    std::multimap<Clock::time_point, std::pair<TimerId, std::function<void()>>> timers_;
    TimerId next_ = 1;
};

}  // namespace bluetti::test
