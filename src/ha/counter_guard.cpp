// CounterGuard (counter_guard.hpp): Home Assistant counts any decrease of a total_increasing sensor
// as a meter reset, and any spike stays in its long-term statistics for good; a wrong frame once
// published `dc_load_energy = 188685931.2 kWh` against 168.7 kWh on the device. So a reading is
// published only when it is within what the device's power could have added since the last one,
// and anything else needs 3 consistent reads. The published values and when they were last read
// are kept by the CounterStore (counter_store.cpp) so a restart forgets neither.
#include "bluetti/ha/counter_guard.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include "bluetti/log.hpp"

namespace bluetti::ha {

namespace {

using Clock = CounterGuard::Clock;

// When the profile does not know the device's power. The stations the profiles cover (Elite 30,
// 100 and 200 V2, Apex 300) are rated a few kW; 10 kW (15 kW with the margin) stays above them and
// above larger models the generic profile may meet, while a 30 s poll still lets through only
// 0.125 kWh plus the slack.
constexpr double kDefaultMaxPowerW = 10'000;
// Rated power is not a hard limit (surge, charging from several inputs), and the read times are
// the bridge's, not the device's: a reply that arrived late makes the next interval look shorter
// than the device counted. 1.5 × covers both; the wrong frame seen in the field was a million
// times the counter, far outside any margin.
constexpr double kPowerMargin = 1.5;
// A reading is rounded to the counter's resolution and may be taken just before the counter
// steps: two steps cover both, so a counter that rose one step in a second is not held.
constexpr double kSlackSteps = 2;
// Readings of a held level needed in a row before it is accepted: one wrong frame, or a wrong
// frame that happens to repeat once, cannot reach it; a real reset is published within 3 polls.
constexpr int kConfirmReads = 3;

std::optional<double> numeric(const schema::Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v))
        if (std::isfinite(*d)) return *d;
    return std::nullopt;
}

// The published value in the field's own type: integers stay integers.
schema::Value as_field_value(const schema::Value& original, double published) {
    if (std::holds_alternative<std::int64_t>(original)) return static_cast<std::int64_t>(std::llround(published));
    return published;
}

// How many of the field's units one watt-hour is; none for a counter that is not energy.
std::optional<double> units_per_wh(std::string_view unit) {
    if (unit == "Wh") return 1.0;
    if (unit == "kWh") return 1e-3;
    if (unit == "MWh") return 1e-6;
    return std::nullopt;
}

// The smallest step of the published value: the decimals published, or a coarser raw scale
// (an integer register published with one decimal still steps by 1).
double resolution(const schema::FieldSpec& spec) {
    double scale = spec.scale;
    for (const schema::Transform& t : spec.transforms)
        if (t.op == schema::Transform::Op::scale) scale *= t.a;
    return std::max(std::fabs(scale), std::pow(10.0, -spec.precision));
}

double hours(Clock::duration d) {
    return std::chrono::duration<double, std::ratio<3600>>(d).count();
}

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// Once per run of held readings: a wrong frame is worth a line, not one per poll.
void log_held(const std::string& serial, const std::string& key, double value, double published, double elapsed_s, double power_w) {
    if (value < published)
        log::get("ha")->info("{}/{}: read {} below the published {}; holding the last value until {} consistent reads confirm a reset",
                             serial, key, value, published, kConfirmReads);
    else
        log::get("ha")->info(
            "{}/{}: read {} above the published {} read {:.0f} s before: more than {:.0f} W could add; holding the last "
            "value until {} consistent reads confirm a jump",
            serial, key, value, published, elapsed_s, power_w, kConfirmReads);
}

}  // namespace

// How far a counter may rise in a given time.
struct CounterGuard::Bound {
    double power_w = 0;   // the power the bound assumes, margin included (for the log)
    double per_hour = 0;  // in the counter's unit; infinite when the unit is not energy
    double slack = 0;     // in the counter's unit

    Bound(const schema::FieldSpec& spec, double max_power_w) {
        power_w = (max_power_w > 0 ? max_power_w : kDefaultMaxPowerW) * kPowerMargin;
        const auto per_wh = units_per_wh(spec.unit);
        per_hour = per_wh ? power_w * *per_wh : std::numeric_limits<double>::infinity();
        slack = kSlackSteps * resolution(spec);
    }
    double allowed(Clock::duration elapsed) const {
        if (std::isinf(per_hour)) return per_hour;                // inf × 0 h would be NaN
        return per_hour * std::max(0.0, hours(elapsed)) + slack;  // a clock that went back allows only the slack
    }
    // A counter never falls and rises at most `allowed` in the time between two readings. The
    // difference of two rounded decimals is not exact (100.2 - 100.0 > 0.2): a hair of tolerance.
    bool consistent(double from, Clock::time_point from_at, double to, Clock::time_point to_at) const {
        const double hair = 1e-9 * std::max(1.0, std::fabs(to));
        return to >= from && to - from <= allowed(to_at - from_at) + hair;
    }
};

CounterGuard::CounterGuard(std::string serial) : serial_(std::move(serial)) {}

CounterGuard::CounterGuard(CounterStore& store, std::string serial) : store_(&store), serial_(std::move(serial)) {
    CounterStore::Device& d = store.devices_[serial_];
    // A second guard for the same device (a station replaced by a new one) starts where the first is.
    values_ = d.guard ? d.guard->values_ : std::move(d.values);
    d.values = {};
    d.guard = this;
}

CounterGuard::~CounterGuard() {
    if (!store_) return;
    CounterStore::Device& d = store_->devices_[serial_];
    if (d.guard != this) return;
    d.values = std::move(values_);
    d.guard = nullptr;
}

void CounterGuard::changed() {
    if (store_) store_->dirty_ = true;
}

CounterGuard::Verdict CounterGuard::filter(schema::DecodedBlock& block, double max_power_w, Clock::time_point now) {
    Verdict verdict;
    for (schema::DecodedField& field : block.fields) {
        if (!field.spec || field.spec->state_class != "total_increasing") continue;
        const auto value = numeric(field.value);
        if (!value) continue;
        const auto [it, first_sight] = values_.counters.try_emplace(field.key);
        if (first_sight) {
            const auto retained = values_.retained.find(it->first);
            if (retained == values_.retained.end()) {  // nothing to compare with: publish as is
                it->second = Counter{*value, now, {}, false};
                changed();
                continue;
            }
            it->second = Counter{retained->second, std::nullopt, {}, true};
            values_.retained.erase(retained);
        }
        switch (judge(it->first, it->second, Bound(*field.spec, max_power_w), *value, now)) {
            case Outcome::published:
                break;
            case Outcome::held:
                // A restored value may lag behind the last one published before the restart: left
                // out rather than published (counter_guard.hpp, "Across a restart").
                field.value = it->second.restored ? schema::Value{} : as_field_value(field.value, it->second.published);
                ++verdict.held;
                break;
            case Outcome::accepted:
                ++verdict.accepted;
                break;
        }
    }
    return verdict;
}

CounterGuard::Outcome CounterGuard::judge(const std::string& key, Counter& c, const Bound& bound, double value, Clock::time_point now) {
    // An unknown time (an old file whose modification time could not be read) allows only the
    // slack: a real rise is then accepted after 3 reads rather than a wrong one at once.
    if (!bound.consistent(c.published, c.at.value_or(now), value, now)) return hold(key, c, bound, value, now);
    if (value != c.published) changed();
    c.published = value;
    c.at = now;
    c.streak = {};
    c.restored = false;
    return Outcome::published;
}

CounterGuard::Outcome CounterGuard::hold(const std::string& key, Counter& c, const Bound& bound, double value, Clock::time_point now) {
    const bool above = value > c.published;
    Streak& s = c.streak;
    if (s.reads > 0 && s.above == above && bound.consistent(s.value, s.at, value, now)) {
        s = Streak{s.reads + 1, above, value, now};
    } else {
        if (s.reads == 0) log_held(serial_, key, value, c.published, seconds(now - c.at.value_or(now)), bound.power_w);
        s = Streak{1, above, value, now};  // a new level: the reads before it confirm nothing
    }
    if (s.reads < kConfirmReads) return Outcome::held;
    log::get("ha")->warn("{}/{}: counter {}: {} -> {} on {} consistent reads in a row; accepting it", serial_, key,
                         above ? "jump" : "reset", c.published, value, kConfirmReads);
    c.published = value;
    c.at = now;
    c.streak = {};
    c.restored = false;
    changed();
    return Outcome::accepted;
}

void CounterGuard::restore_published(const std::string& key, double value) {
    if (values_.restore(key, value)) changed();
}

bool CounterGuard::Values::restore(const std::string& key, double value) {
    if (!std::isfinite(value)) return false;
    const auto it = counters.find(key);
    if (it == counters.end()) {
        const auto [known, fresh] = retained.try_emplace(key, value);
        if (!fresh) known->second = std::max(known->second, value);
        return false;
    }
    Counter& c = it->second;
    if (value <= c.published) return false;
    // Read at an unknown time after the file's value: "just now" is the bound that is never looser
    // than the truth.
    c = Counter{value, std::nullopt, {}, true};
    return true;
}

}  // namespace bluetti::ha
