// Deterministic randomness for the simulator: a seeded generator for fault draws and RSSI, and
// stateless noise that is a pure function of (seed, channel, time bucket), so the physical model
// gives the same value for the same moment however often it is asked. The std:: distributions are
// implementation-defined, so the draws are done here: the same --seed gives the same run anywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

#include "bluetti/fnv1a.hpp"

namespace bluetti::sim {

// SplitMix64 finaliser: a good 64-bit mix of any integer.
inline std::uint64_t mix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// FNV-1a 64 of a text (serial numbers → sub-serials, per-device seeds).
using bluetti::fnv1a64;

// SplitMix64 as a generator: tiny, fast, and plenty for fault draws.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        state_ += 0x9E3779B97F4A7C15ull;
        return mix64(state_);
    }
    // Uniform in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    // True with probability pct / 100 (pct ≤ 0 never draws true, pct ≥ 100 always).
    bool percent(double pct) { return uniform() * 100.0 < pct; }
    // Uniform integer in [lo, hi].
    std::int64_t between(std::int64_t lo, std::int64_t hi) {
        if (hi <= lo) return lo;
        return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
    }

private:
    std::uint64_t state_;
};

// Value noise in [-1, 1): one random value per bucket of a channel, linearly interpolated inside
// the bucket, so a quantity drifts slowly instead of jumping at every request.
inline double bucket_noise(std::uint64_t seed, std::uint64_t channel, std::int64_t bucket) {
    const std::uint64_t h = mix64(seed ^ mix64(channel * 0x100000001B3ull + static_cast<std::uint64_t>(bucket)));
    return static_cast<double>(h >> 11) * 0x1.0p-52 - 1.0;
}

inline double smooth_noise(std::uint64_t seed, std::uint64_t channel, double seconds, double bucket_seconds) {
    const double position = seconds / bucket_seconds;
    const double base = std::floor(position);
    const double frac = position - base;
    const auto b = static_cast<std::int64_t>(base);
    return bucket_noise(seed, channel, b) * (1.0 - frac) + bucket_noise(seed, channel, b + 1) * frac;
}

}  // namespace bluetti::sim
