#include "sim/physics.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <numbers>

#include "sim/rng.hpp"

namespace bluetti::sim {

namespace {

constexpr auto kStep = std::chrono::seconds(10);
constexpr auto kMaxCatchUp = std::chrono::hours(24 * 7);

// Noise channels: one independent stream per quantity.
enum Channel : std::uint64_t {
    kCloud = 1,
    kAcLoad,
    kDcLoad,
    kGridVoltage,
    kGridFrequency,
    kBatteryTemp,
    kInverterTemp,
    kAmbient,
    kInverterVoltage,
    kWifiRssi
};

double seconds_of(TimePoint t) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count()) / 1000.0;
}

// Hours since local midnight (solar noon = 12:00 local time; good enough for a simulator).
double local_hour(TimePoint t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm local{};
    localtime_r(&tt, &local);
    const double sub = seconds_of(t) - std::floor(seconds_of(t));
    return local.tm_hour + local.tm_min / 60.0 + (local.tm_sec + sub) / 3600.0;
}

double phase(std::uint64_t seed, std::uint64_t channel) {
    return static_cast<double>(mix64(seed ^ channel) % 1000) / 1000.0 * 2 * std::numbers::pi;
}

}  // namespace

Rating rating_for(std::string_view profile, int packs) {
    Rating r;
    if (profile == "EL30V2") {
        r = {400, 288, 400, 600, 36, 1};
    } else if (profile == "EL100V2") {
        r = {1000, 1024, 1000, 1800, 80, 2};
    } else if (profile == "ELITE200V2") {
        r = {2000, 2048, 1800, 2600, 120, 2};
    } else if (profile == "AP300") {
        r = {2000, 2765, 2400, 3840, 150, 2};
    }
    r.battery_wh *= std::max(1, packs);
    return r;
}

PowerModel::PowerModel(Rating rating, std::uint64_t seed, TimePoint start, double start_soc)
    : rating_(rating), seed_(seed), last_(start), soc_(std::clamp(start_soc, 5.0, 100.0)) {
    const double base = static_cast<double>(mix64(seed) % 1000) / 10.0;
    energy_.pv_kwh = 150 + base;
    energy_.ac_output_kwh = 120 + base * 0.8;
    energy_.dc_output_kwh = 20 + base * 0.1;
    energy_.grid_charge_kwh = 40 + base * 0.3;
    energy_.grid_import_kwh = 60 + base * 0.4;
    energy_.feed_in_kwh = 5 + base * 0.05;
    energy_.battery_charge_kwh = 120 + base * 0.9;
    energy_.battery_discharge_kwh = 110 + base * 0.85;
    energy_.pv_to_ac_kwh = 50 + base * 0.5;
}

double PowerModel::pv_available_w(TimePoint t) const {
    const double h = local_hour(t);
    if (h <= 6.0 || h >= 18.0) return 0.0;
    const double daylight = std::sin(std::numbers::pi * (h - 6.0) / 12.0);
    const double cloud = 0.85 + 0.15 * smooth_noise(seed_, kCloud, seconds_of(t), 300);
    return rating_.pv_peak_w * daylight * cloud;
}

double PowerModel::ac_demand_w(TimePoint t) const {
    const double s = seconds_of(t);
    const double w =
        325 + 200 * std::sin(2 * std::numbers::pi * s / 3600 + phase(seed_, kAcLoad)) + 75 * smooth_noise(seed_, kAcLoad, s, 120);
    return std::clamp(w, 50.0, 600.0);
}

double PowerModel::dc_demand_w(TimePoint t) const {
    const double s = seconds_of(t);
    const double w = 25 + 15 * std::sin(2 * std::numbers::pi * s / 5400 + phase(seed_, kDcLoad)) + 10 * smooth_noise(seed_, kDcLoad, s, 90);
    return std::clamp(w, 5.0, 60.0);
}

double PowerModel::grid_voltage_v(TimePoint t) const {
    return 230.0 + 3.0 * smooth_noise(seed_, kGridVoltage, seconds_of(t), 30);
}

double PowerModel::grid_frequency_hz(TimePoint t) const {
    return 50.0 + 0.1 * smooth_noise(seed_, kGridFrequency, seconds_of(t), 20);
}

int PowerModel::wifi_rssi_dbm(TimePoint t) const {
    return -60 + static_cast<int>(std::lround(5.0 * smooth_noise(seed_, kWifiRssi, seconds_of(t), 60)));
}

Flows PowerModel::flows_at(TimePoint t, double soc, const Controls& c) const {
    Flows f;
    const double pv = pv_available_w(t);
    f.ac_load_w = c.ac_output ? ac_demand_w(t) : 0.0;
    f.dc_load_w = c.dc_output ? dc_demand_w(t) : 0.0;
    const double load = f.ac_load_w + f.dc_load_w;
    const double floor = std::max(5.0, c.soc_min);
    const double ceiling = std::clamp(c.soc_max, 5.0, 100.0);
    const double charge_cap = soc < ceiling ? rating_.max_charge_w * c.charge_factor : 0.0;
    const double grid_want = (c.grid_charge && grid_charging_) ? std::min(c.grid_charge_limit_w, charge_cap) : 0.0;

    if (pv >= load) {
        const double surplus = pv - load;
        const double from_pv = std::min(surplus, charge_cap);
        f.feed_in_w = c.feed_in ? std::min(surplus - from_pv, c.feed_in_limit_w) : 0.0;
        f.pv_w = load + from_pv + f.feed_in_w;  // the rest is curtailed
        f.grid_charge_w = std::max(0.0, std::min(grid_want, charge_cap - from_pv));
        f.battery_w = from_pv + f.grid_charge_w;
        return f;
    }
    const double deficit = load - pv;
    f.pv_w = pv;
    if (grid_want > 0) {
        f.grid_passthrough_w = deficit;
        f.grid_charge_w = grid_want;
        f.battery_w = grid_want;
    } else if (soc > floor) {
        const double discharge = std::min(deficit, rating_.max_discharge_w);
        f.grid_passthrough_w = deficit - discharge;
        f.battery_w = -discharge;
    } else {
        f.grid_passthrough_w = deficit;
    }
    return f;
}

void PowerModel::step(TimePoint from, std::chrono::milliseconds dt, const Controls& c) {
    const Flows f = flows_at(from + dt / 2, soc_, c);
    const double hours = static_cast<double>(dt.count()) / 3'600'000.0;
    const double floor = std::max(5.0, c.soc_min);
    const double ceiling = std::clamp(c.soc_max, 5.0, 100.0);
    const double before = soc_;
    soc_ += f.battery_w * hours / rating_.battery_wh * 100.0;
    if (f.battery_w > 0 && before <= ceiling) soc_ = std::min(soc_, ceiling);
    if (f.battery_w < 0 && before >= floor) soc_ = std::max(soc_, floor);
    soc_ = std::clamp(soc_, 5.0, 100.0);

    energy_.pv_kwh += f.pv_w * hours / 1000;
    energy_.ac_output_kwh += f.ac_load_w * hours / 1000;
    energy_.dc_output_kwh += f.dc_load_w * hours / 1000;
    energy_.grid_charge_kwh += f.grid_charge_w * hours / 1000;
    energy_.grid_import_kwh += (f.grid_charge_w + f.grid_passthrough_w) * hours / 1000;
    energy_.feed_in_kwh += f.feed_in_w * hours / 1000;
    energy_.battery_charge_kwh += std::max(0.0, f.battery_w) * hours / 1000;
    energy_.battery_discharge_kwh += std::max(0.0, -f.battery_w) * hours / 1000;
    energy_.pv_to_ac_kwh += std::min(f.pv_w, f.ac_load_w) * hours / 1000;

    // Grid charging with hysteresis: on at floor + 10 %, off again 30 % higher (or at the ceiling).
    const double start = floor + 10.0;
    const double stop = std::min(ceiling, start + 30.0);
    if (!c.grid_charge)
        grid_charging_ = false;
    else if (!grid_charging_ && soc_ <= start)
        grid_charging_ = true;
    else if (grid_charging_ && soc_ >= stop)
        grid_charging_ = false;
}

Snapshot PowerModel::at(TimePoint t, const Controls& c) {
    if (t > last_) {
        if (t - last_ > kMaxCatchUp) last_ = t - kMaxCatchUp;
        while (last_ < t) {
            const auto dt = std::chrono::duration_cast<std::chrono::milliseconds>(std::min<TimePoint::duration>(kStep, t - last_));
            if (dt.count() <= 0) break;
            step(last_, dt, c);
            last_ += dt;
        }
    }
    Snapshot s;
    s.t = t;
    s.soc = soc_;
    s.flows = flows_at(t, soc_, c);
    s.energy = energy_;
    s.grid_voltage_v = grid_voltage_v(t);
    s.grid_frequency_hz = grid_frequency_hz(t);
    const double secs = seconds_of(t);
    s.inverter_voltage_v = 230.0 + 0.5 * smooth_noise(seed_, kInverterVoltage, secs, 30);
    s.battery_temperature_c = std::clamp(
        24 + 8 * std::fabs(s.flows.battery_w) / rating_.max_charge_w + 1.5 * smooth_noise(seed_, kBatteryTemp, secs, 600), 20.0, 35.0);
    s.inverter_temperature_c = std::clamp(
        26 + 6 * (s.flows.ac_load_w + s.flows.dc_load_w) / 660 + 1.5 * smooth_noise(seed_, kInverterTemp, secs, 600), 20.0, 35.0);
    s.ambient_temperature_c = std::clamp(23 + 2 * smooth_noise(seed_, kAmbient, secs, 1800), 20.0, 35.0);
    return s;
}

}  // namespace bluetti::sim
