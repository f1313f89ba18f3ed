#include "bluetti/event_loop.hpp"

#include <algorithm>
#include <cerrno>

namespace bluetti {

void EventLoop::watch(int fd, short events, FdCallback callback) {
    watches_[fd] = Watch{events, std::move(callback)};
}

void EventLoop::set_events(int fd, short events) {
    auto it = watches_.find(fd);
    if (it != watches_.end()) it->second.events = events;
}

void EventLoop::unwatch(int fd) {
    watches_.erase(fd);
}

EventLoop::TimerId EventLoop::after(std::chrono::milliseconds delay, std::function<void()> callback) {
    return at(Clock::now() + delay, std::move(callback));
}

EventLoop::TimerId EventLoop::at(Clock::time_point when, std::function<void()> callback) {
    const TimerId id = next_timer_++;
    timer_index_.emplace(id, timers_.emplace(when, std::make_pair(id, std::move(callback))));
    return id;
}

void EventLoop::cancel(TimerId id) {
    auto it = timer_index_.find(id);
    if (it == timer_index_.end()) return;  // already run or cancelled
    timers_.erase(it->second);
    timer_index_.erase(it);
}

EventLoop::HookId EventLoop::before_poll(std::function<void()> hook) {
    const HookId id = next_hook_++;
    hooks_.emplace_back(id, std::move(hook));
    return id;
}

void EventLoop::remove_hook(HookId id) {
    // Only emptied here: the hook may be running right now (a session destroyed from its own pump).
    for (auto& [hook_id, hook] : hooks_)
        if (hook_id == id) hook = nullptr;
}

void EventLoop::run_due_timers() {
    const auto now = Clock::now();
    // One at a time, each taken out before it runs: a callback may add timers (those are due after
    // `now`, so this ends) or cancel one that is due in this very pass, which then must not run.
    while (!timers_.empty() && timers_.begin()->first <= now) {
        auto callback = std::move(timers_.begin()->second.second);
        timer_index_.erase(timers_.begin()->second.first);
        timers_.erase(timers_.begin());
        callback();
    }
}

void EventLoop::run_once(std::chrono::milliseconds max_wait) {
    // By index and by copy: a hook may add hooks (push_back) or remove itself while it runs.
    for (std::size_t i = 0; i < hooks_.size(); ++i)
        if (hooks_[i].second) {
            auto hook = hooks_[i].second;
            hook();
        }
    std::erase_if(hooks_, [](const auto& h) { return !h.second; });
    auto wait = max_wait;
    if (!timers_.empty()) {
        const auto until = std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first - Clock::now());
        wait = std::clamp(until, std::chrono::milliseconds(0), max_wait);
    }
    pollfds_.clear();
    for (const auto& [fd, w] : watches_) pollfds_.push_back(pollfd{fd, w.events, 0});
    const int n = ::poll(pollfds_.data(), pollfds_.size(), static_cast<int>(wait.count()));
    if (n > 0) {
        for (const pollfd& p : pollfds_) {
            if (p.revents == 0) continue;
            auto it = watches_.find(p.fd);  // an earlier callback may have unwatched it
            if (it == watches_.end()) continue;
            FdCallback callback = it->second.callback;  // copy: the callback may replace its own watch
            callback(p.revents);
        }
    }
    run_due_timers();
}

void EventLoop::run() {
    stopped_ = false;
    while (!stopped_) run_once();
}

void EventLoop::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    stopped_ = false;
    while (!stopped_ && !done() && Clock::now() < deadline) {
        run_once(std::min(std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()), std::chrono::milliseconds(1000)));
    }
}

}  // namespace bluetti
