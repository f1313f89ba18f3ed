// Energy counters (state_class total_increasing) feed Home Assistant's Energy dashboard, which
// reads any decrease as a meter reset and keeps any spike in its long-term statistics for good.
// Each device's CounterGuard (its Station owns it) publishes a counter's reading only when physics
// allows it:
//  - a rise of at most (max power × time since the published value was last read × 1.5, plus two
//    steps of the counter's resolution) is published at once, and so is an unchanged value;
//  - anything else, a bigger rise or any fall, is held: the field gets the last published value,
//    nothing is stored, and one info line is logged per run of held reads;
//  - a held level is accepted only when 3 reads in a row stay on the same side of the published
//    value and each is consistent with the one before by the same bound (a stray frame cannot,
//    even one that returns every other read; a real reset or a counter that moved while the
//    bridge was away does). It is then published, stored and logged as a warning: "counter
//    reset" when it went down, "counter jump" when it went up.
// The bound needs an energy unit (Wh, kWh, MWh); a total_increasing field with another unit gets
// no rise bound, only the rule for falls. Published values and the wall time each was last read
// survive restarts in a JSON file in the state directory, one for all devices, which the shared
// CounterStore reads once and writes; held readings never reach it. A guard takes its device's
// values from the store when it is made and hands them back when it goes (a station that comes back
// after a reload carries on where it was). The guard touches only total_increasing fields and does
// no I/O; the store does none besides that file.
//
// Across a restart. The file is written at most every state_save_interval (15 min by default: an
// fsync a minute wore SD cards), at SIGTERM and at SIGHUP; after a crash it may be that old, and
// its values lower than the last ones published. Two things keep a published counter from ever
// going down all the same:
//  - the retained states on the local broker are what the last run published last: at start-up
//    they are handed to CounterStore::restore_published(), which gives them to the device's guard
//    (now, or when the device's station is made), and the guard starts from the higher of the file's
//    and the broker's value. The broker's value comes without a read time, so its bound starts at
//    "just now": the tightest one, which a real rise during the downtime passes after 3 reads;
//  - a value from the file or the broker (restored, not yet read in this run) is never published
//    for a held reading: the field is left out of the state instead (Home Assistant shows it as
//    unknown for that poll, which its statistics skip; a lower number would count as a reset).
//    Once a reading passes, or 3 confirm a new level, the guard is as in a run without restart.
// What is left: a reading that is wrong but within the bound of a stale file's value, with no
// retained state on the broker (persistence off and the broker restarted too).
// The device's own counters only rise, so a real reading never conflicts with either.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "bluetti/repeated_failure.hpp"
#include "bluetti/schema/value.hpp"

namespace bluetti::ha {

class CounterStore;

// One device's energy counters.
class CounterGuard {
public:
    using Clock = std::chrono::system_clock;

    // In memory only: nothing restored, nothing saved. `serial` names the counters in the log.
    explicit CounterGuard(std::string serial);
    // The counters `store` holds for `serial` (from the file, and the broker's retained values);
    // the store saves them, and gets them back when the guard is destroyed. `store` must outlive it.
    CounterGuard(CounterStore& store, std::string serial);
    ~CounterGuard();
    CounterGuard(const CounterGuard&) = delete;
    CounterGuard& operator=(const CounterGuard&) = delete;

    struct Verdict {
        std::size_t held = 0;      // readings held back in this block (too steep a rise, or a fall)
        std::size_t accepted = 0;  // held levels confirmed by 3 consistent reads and published
    };
    // Rewrites the counters of `block` in place: a held-back field gets the last published value.
    // Other fields are untouched. `max_power_w` is the device's rated maximum power (0 or less =
    // unknown: 10 kW); `now` is the wall time of the reading, which the bound and the file use.
    Verdict filter(schema::DecodedBlock& block, double max_power_w, Clock::time_point now);
    // A value an earlier run published for `key` (retained on the local broker). Raises the starting
    // point of that counter when it is above the file's; any numeric key may be given, only those
    // that turn out to be counters are used.
    void restore_published(const std::string& key, double value);

private:
    friend class CounterStore;
    struct Streak {  // consecutive held readings that agree with each other
        int reads = 0;
        bool above = false;  // above the published value (a jump) or below it (a reset)
        double value = 0;
        Clock::time_point at;
    };
    struct Counter {
        double published = 0;
        std::optional<Clock::time_point> at;  // last read that showed `published`; unknown = just now
        Streak streak;
        bool restored = false;  // from the file or the broker, not yet confirmed by a read in this run
    };
    // What a device's counters are, with the guard or kept by the store while the device has none.
    struct Values {
        std::map<std::string, Counter> counters;  // by key
        std::map<std::string, double> retained;   // retained values of keys not (yet) known as counters
        // restore_published(); true when a counter's published value changed.
        bool restore(const std::string& key, double value);
    };
    enum class Outcome { published, held, accepted };
    struct Bound;

    Outcome judge(const std::string& key, Counter& c, const Bound& bound, double value, Clock::time_point now);
    Outcome hold(const std::string& key, Counter& c, const Bound& bound, double value, Clock::time_point now);
    void changed();  // a published value changed: the store's next save writes the file

    CounterStore* store_ = nullptr;
    std::string serial_;
    Values values_;
};

// The counters file (state directory) of all devices:
//   {"<serial>/<key>": {"value": 168.7, "at_unix_ms": 1718000000000}, …}
// Read once when made; each device's guard takes its counters from here and gives them back when
// it goes, and save() writes those of every device, with a guard or not.
class CounterStore {
public:
    explicit CounterStore(std::filesystem::path file = {});  // empty path = in memory only
    CounterStore(const CounterStore&) = delete;
    CounterStore& operator=(const CounterStore&) = delete;

    // A value an earlier run published for `serial`'s `key` (retained on the local broker): given
    // to the device's guard, now or when it is made (CounterGuard::restore_published).
    void restore_published(const std::string& serial, const std::string& key, double value);
    // Writes the file if a published value changed since the last save. A failure is logged (the
    // first, then one an hour) and the write is tried again at the next save.
    void save() const;

private:
    friend class CounterGuard;
    struct Device {
        CounterGuard::Values values;    // while the device has no guard
        CounterGuard* guard = nullptr;  // the guard that holds them meanwhile
    };
    void load();

    std::filesystem::path file_;
    std::map<std::string, Device> devices_;  // by serial: the file's devices and those with a guard
    mutable bool dirty_ = false;
    mutable RepeatedFailure write_failures_;
};

}  // namespace bluetti::ha
