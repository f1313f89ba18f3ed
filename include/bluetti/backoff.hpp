// The one backoff of the project: every retry that waits longer after each failure in a row (the
// account login, the token renewal, the cloud and local broker reconnects, certificate downloads)
// uses it, so they all grow, cap and jitter the same way.
#pragma once

#include <chrono>

namespace bluetti {

// min(initial·2^failures, max) × (1 + spread·jitter_unit), never past max. jitter_unit is a draw
// from [0, 1] (clamped), so the delay grows by at most `spread`; 0 gives the plain doubling.
std::chrono::milliseconds backoff_delay(int failures, std::chrono::milliseconds initial, std::chrono::milliseconds max,
                                        double jitter_unit = 0.0, double spread = 0.25);

// Failures in a row and the delay before the next attempt.
class Backoff {
public:
    Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max) : initial_(initial), max_(max) {}
    // The delay after one more failure, which it counts.
    std::chrono::milliseconds failed(double jitter_unit = 0.0) { return backoff_delay(failures_++, initial_, max_, jitter_unit); }
    void succeeded() { failures_ = 0; }
    int failures() const { return failures_; }

private:
    std::chrono::milliseconds initial_, max_;
    int failures_ = 0;
};

}  // namespace bluetti
