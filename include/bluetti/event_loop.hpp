// One thread, one loop (docs/style.md #8): poll() over watched file descriptors, timers as
// deadlines, and each pass sleeps until the earliest deadline. Callbacks run on the loop; nothing
// here blocks except poll() itself. The daemon, the SDK client and the simulator all run on it.
//
// An exception that leaves a callback (a timer, an fd watch, a before-poll hook) is the one place
// nothing unexpected may pass: it is caught here, logged at error level with its type, its text
// and the kind of callback it came from, and the loop stops with failure() set; no other callback
// runs after it, since the state it left half-changed cannot be trusted. The daemon then exits
// non-zero and systemd restarts it: never std::terminate, never a core dump.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace bluetti {

// Timers and the time, as the protocol state machines see them: the EventLoop in programs, a
// manual clock in tests (so timeout logic is tested without waiting).
class Scheduler {
public:
    using Clock = std::chrono::steady_clock;
    using TimerId = std::uint64_t;
    virtual ~Scheduler() = default;
    virtual Clock::time_point now() const = 0;
    virtual TimerId after(std::chrono::milliseconds delay, std::function<void()> callback) = 0;
    virtual void cancel(TimerId id) = 0;
};

class EventLoop : public Scheduler {
public:
    using FdCallback = std::function<void(short revents)>;

    EventLoop() = default;
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Watches `fd` for `events` (POLLIN/POLLOUT); replaces an earlier watch of the same fd.
    void watch(int fd, short events, FdCallback callback);
    void set_events(int fd, short events);
    void unwatch(int fd);

    TimerId after(std::chrono::milliseconds delay, std::function<void()> callback) override;
    TimerId at(Clock::time_point when, std::function<void()> callback);
    void cancel(TimerId id) override;

    // Called before every poll(): libraries that decide late whether they want to write
    // (libmosquitto) update their fd's events here. The owner removes its hook before it dies
    // (also from inside a hook).
    using HookId = std::uint64_t;
    HookId before_poll(std::function<void()> hook);
    void remove_hook(HookId id);

    // One pass: waits for I/O or the next deadline (at most `max_wait`), then runs what is due.
    void run_once(std::chrono::milliseconds max_wait = std::chrono::milliseconds(1000));
    // Passes until stop() or until `done()` returns true (checked after every pass), or until a
    // callback threw. run() returns false when a callback threw (failure() says what and where).
    // run() has no tick: an idle loop sleeps until one of its fds or timers is due, so whatever
    // must happen periodically arms a timer (mqtt::Session does for its keep-alive).
    bool run();
    void run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);
    void stop() { stopped_ = true; }
    bool stopped() const { return stopped_; }
    // "<where>: <type>: <what>" of the exception that stopped the loop; empty while none did.
    const std::string& failure() const { return failure_; }

    Clock::time_point now() const override { return Clock::now(); }

private:
    struct Watch {
        short events;
        FdCallback callback;
    };
    std::map<int, Watch> watches_;
    using Timers = std::multimap<Clock::time_point, std::pair<TimerId, std::function<void()>>>;
    Timers timers_;
    // Where each pending timer sits in timers_, so cancel() is O(log n): every block read arms and
    // cancels a timer, and a linear search made that O(devices).
    std::unordered_map<TimerId, Timers::iterator> timer_index_;
    std::vector<std::pair<HookId, std::function<void()>>> hooks_;  // removed ones are empty until swept
    HookId next_hook_ = 1;
    std::vector<pollfd> pollfds_;
    TimerId next_timer_ = 1;
    bool stopped_ = false;
    std::string failure_;

    void run_due_timers();
    template <class Callback, class Where>
    bool dispatch(Callback& callback, const Where& where);  // false: it threw, the loop is stopping
};

}  // namespace bluetti
