// When the daemon writes its state files (counters.json, stations.json): every `interval`
// (state_save_interval, 15 min by default) and whenever save_now() is called (SIGTERM, SIGHUP).
// The save itself writes only what changed since the last write, so a quiet bridge writes nothing;
// a busy one writes at most once per interval. Writing every minute, each with an fsync, cost an SD
// card a write a minute, forever. The counters' guarantee across a crash, when the file may be up
// to one interval old, is CounterGuard's (counter_guard.hpp, "Across a restart").
#pragma once

#include <chrono>
#include <functional>

#include "bluetti/event_loop.hpp"

namespace bluetti::app {

class SaveSchedule {
public:
    SaveSchedule(Scheduler& scheduler, std::chrono::milliseconds interval, std::function<void()> save);
    ~SaveSchedule();
    SaveSchedule(const SaveSchedule&) = delete;
    SaveSchedule& operator=(const SaveSchedule&) = delete;

    // Saves at once; the next periodic save is a full interval later.
    void save_now();

private:
    Scheduler& scheduler_;
    std::chrono::milliseconds interval_;
    std::function<void()> save_;
    Scheduler::TimerId timer_ = 0;

    void arm();
};

}  // namespace bluetti::app
