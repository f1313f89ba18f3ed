#include "bluetti/event_loop.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <typeinfo>

#include "bluetti/log.hpp"

namespace bluetti {

namespace {

std::string type_name(const std::type_info& type) {
    int status = 0;
    const std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
    return status == 0 && name ? name.get() : type.name();
}

// "<type>: <what>", then the exceptions it was thrown from (std::throw_with_nested), outermost first:
// the outer ones say where (an MQTT message on which topic), the innermost what went wrong.
std::string describe(const std::exception& e) {
    // A wrapper made by throw_with_nested is context: its text alone, without its generated type.
    const bool context = dynamic_cast<const std::nested_exception*>(&e) != nullptr;
    std::string text = context ? std::string(e.what()) : type_name(typeid(e)) + ": " + e.what();
    try {
        std::rethrow_if_nested(e);
    } catch (const std::exception& inner) {
        text += " <- " + describe(inner);
    } catch (...) {
        text += " <- an exception of unknown type";
    }
    return text;
}

}  // namespace

template <class Callback, class Where>
bool EventLoop::dispatch(Callback& callback, const Where& where) {
    std::string what;
    try {
        callback();
        return true;
    } catch (const std::exception& e) {
        what = describe(e);
    } catch (...) {
        what = "an exception of unknown type";
    }
    failure_ = where() + ": " + what;
    stopped_ = true;
    log::get("loop")->error("unexpected exception in {}; stopping", failure_);
    return false;
}

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
        if (!dispatch(callback, [] { return std::string("a timer callback"); })) return;
    }
}

void EventLoop::run_once(std::chrono::milliseconds max_wait) {
    // By index and by copy: a hook may add hooks (push_back) or remove itself while it runs.
    for (std::size_t i = 0; i < hooks_.size(); ++i)
        if (hooks_[i].second) {
            auto hook = hooks_[i].second;
            if (!dispatch(hook, [] { return std::string("a before-poll hook"); })) return;
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
            auto call = [&] { callback(p.revents); };
            if (!dispatch(call, [&] { return "the I/O callback of fd " + std::to_string(p.fd); })) return;
        }
    }
    run_due_timers();
}

bool EventLoop::run() {
    stopped_ = !failure_.empty();  // a loop that failed stays stopped
    // An hour is "until something is due": poll()'s int milliseconds hold it, and a pass that ends
    // with nothing to do costs nothing worth counting.
    while (!stopped_) run_once(std::chrono::hours(1));
    return failure_.empty();
}

void EventLoop::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    stopped_ = !failure_.empty();  // a loop that failed stays stopped
    while (!stopped_ && !done() && Clock::now() < deadline) {
        run_once(std::min(std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()), std::chrono::milliseconds(1000)));
    }
}

}  // namespace bluetti
