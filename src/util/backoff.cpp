#include "bluetti/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace bluetti {

std::chrono::milliseconds backoff_delay(int failures, std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter_unit,
                                        double spread) {
    // In doubles: 2^failures overflows no integer however long a broker stays away.
    const double cap = static_cast<double>(max.count());
    const double base = std::min(static_cast<double>(initial.count()) * std::pow(2.0, std::max(0, failures)), cap);
    const double delay = std::min(base * (1.0 + spread * std::clamp(jitter_unit, 0.0, 1.0)), cap);
    return std::chrono::milliseconds(static_cast<long long>(delay));
}

}  // namespace bluetti
