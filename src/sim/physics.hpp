// The small physical model behind a simulated power station: solar input on a daily curve, a
// slowly varying AC and DC load, grid charging with hysteresis, feed-in, and a battery whose SOC
// integrates the net power over time. Energy counters only ever grow.
//
// Pure logic: the caller passes the time (wall clock in the program, any instant in the tests) and
// the current control settings; nothing here reads a clock, sleeps or logs. The state at t is the
// integral of the model from its start (10 s steps) with the controls of each call; asking for an
// earlier t than the last one integrates nothing (time never runs backwards for the counters).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace bluetti::sim {

using TimePoint = std::chrono::system_clock::time_point;

// What a model of station can do.
struct Rating {
    double pv_peak_w = 1000;        // solar input at solar noon on a clear day
    double battery_wh = 1024;       // usable capacity of all packs together
    double max_charge_w = 1000;     // battery charge limit (turbo)
    double max_discharge_w = 1800;  // battery discharge limit
    double pv_string_voltage = 80;  // nominal string voltage while the sun is up
    int pv_strings = 2;
};

// Per profile (EL30V2 400 W / 288 Wh … AP300 2000 W / 2 packs).
Rating rating_for(std::string_view profile, int packs);

// The settings of block 2000/2200 the model reacts to.
struct Controls {
    bool ac_output = true;
    bool dc_output = true;
    bool grid_charge = true;
    bool feed_in = false;
    double soc_min = 10;   // soc_discharge_limit (the model never goes below 5)
    double soc_max = 100;  // soc_charge_limit
    double grid_charge_limit_w = 1000;
    double feed_in_limit_w = 800;
    double charge_factor = 1.0;  // charging mode: standard 0.7, silent 0.4, turbo 1.0
};

// Instantaneous power flows in W (battery_w > 0 = charging).
struct Flows {
    double pv_w = 0;  // solar power used (curtailed when it has nowhere to go)
    double ac_load_w = 0;
    double dc_load_w = 0;
    double grid_charge_w = 0;       // grid power into the battery
    double grid_passthrough_w = 0;  // grid power straight to the loads
    double feed_in_w = 0;           // power exported to the grid
    double battery_w = 0;
    double grid_w() const { return grid_charge_w + grid_passthrough_w - feed_in_w; }  // + = import
};

// Energy counters in kWh since "manufacture" (they start at a per-device base).
struct Counters {
    double pv_kwh = 0;
    double ac_output_kwh = 0;
    double dc_output_kwh = 0;
    double grid_charge_kwh = 0;
    double grid_import_kwh = 0;
    double feed_in_kwh = 0;
    double battery_charge_kwh = 0;
    double battery_discharge_kwh = 0;
    double pv_to_ac_kwh = 0;
};

struct Snapshot {
    TimePoint t;
    double soc = 0;  // %, 5–100
    Flows flows;
    Counters energy;
    double grid_voltage_v = 230;
    double grid_frequency_hz = 50;
    double inverter_voltage_v = 230;
    double battery_temperature_c = 25;
    double inverter_temperature_c = 30;
    double ambient_temperature_c = 24;
};

class PowerModel {
public:
    PowerModel(Rating rating, std::uint64_t seed, TimePoint start, double start_soc = 60.0);

    // Integrates up to t with `controls` (nothing when t is not after the last call) and returns
    // the state at t.
    Snapshot at(TimePoint t, const Controls& controls);

    // The environment at t, independent of the battery: pure functions of (seed, t).
    double pv_available_w(TimePoint t) const;     // 0 at night, peak at local solar noon
    double ac_demand_w(TimePoint t) const;        // 50–600 W
    double dc_demand_w(TimePoint t) const;        // 5–60 W
    double grid_voltage_v(TimePoint t) const;     // 230 ± 3 V
    double grid_frequency_hz(TimePoint t) const;  // 50.0 ± 0.1 Hz
    int wifi_rssi_dbm(TimePoint t) const;         // −60 ± 5 dBm: the RSSI a V2 reply carries in header byte 7

    const Rating& rating() const { return rating_; }

private:
    Rating rating_;
    std::uint64_t seed_;
    TimePoint last_;
    double soc_;
    bool grid_charging_ = false;
    Counters energy_;

    Flows flows_at(TimePoint t, double soc, const Controls& c) const;
    void step(TimePoint from, std::chrono::milliseconds dt, const Controls& c);
};

}  // namespace bluetti::sim
