// A write that fails again and again (a full disk, a read-only state directory) is retried at every
// save, but is worth one warning and then one line an hour, not one per save; and one line when it
// works again.
#pragma once

#include <chrono>
#include <optional>
#include <utility>

namespace bluetti {

class RepeatedFailure {
public:
    using Clock = std::chrono::steady_clock;
    explicit RepeatedFailure(Clock::duration quiet = std::chrono::hours(1)) : quiet_(quiet) {}

    // A failure: true when it is to be logged (the first one, then one per `quiet`).
    bool failed(Clock::time_point now = Clock::now()) {
        if (last_logged_ && now - *last_logged_ < quiet_) return false;
        last_logged_ = now;
        return true;
    }
    // A success: true once, when it ends a run of failures.
    bool succeeded() { return std::exchange(last_logged_, std::nullopt).has_value(); }

private:
    Clock::duration quiet_;
    std::optional<Clock::time_point> last_logged_;  // set while failing
};

}  // namespace bluetti
