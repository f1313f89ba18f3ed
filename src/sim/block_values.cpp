#include "sim/block_values.hpp"

#include <algorithm>
#include <cmath>

#include "sim/rng.hpp"

namespace bluetti::sim {

namespace {

using schema::Value;
using schema::ValueMap;

double round_to(double v, int decimals) {
    const double p = std::pow(10.0, decimals);
    return std::round(v * p) / p;
}
Value integer(double v) {
    return static_cast<std::int64_t>(std::llround(v));
}
Value tenths(double v) {
    return round_to(v, 1);
}
Value hundredths(double v) {
    return round_to(v, 2);
}

// Charging status codes of block 100/6000/6100: 0 standby, 1 charging, 2 discharging.
std::string charging_status(double battery_w) {
    if (battery_w > 5) return "charging";
    if (battery_w < -5) return "discharging";
    return "standby";
}

struct Battery {
    double voltage;
    double current;  // A, + = charging
    std::int64_t soc;
    std::int64_t time_to_full;
    std::int64_t time_to_empty;
    std::string status;
};

Battery battery_of(const BlockContext& c) {
    const Snapshot& s = c.snapshot;
    const Controls controls = c.settings.controls();
    Battery b;
    b.voltage = pack_voltage(s.soc, c.pack_voltage_scale);
    b.current = round_to(s.flows.battery_w / b.voltage, 1);
    b.soc = std::llround(s.soc);
    b.status = charging_status(s.flows.battery_w);
    const double wh = rating_for(c.id.profile, c.id.packs).battery_wh;
    const std::int64_t not_applicable = c.id.style.not_applicable_minutes;  // 20100 (AP300), 5994 (Elite 200 V2)
    b.time_to_full = not_applicable;
    b.time_to_empty = not_applicable;
    if (s.flows.battery_w > 5) {
        const double room = std::max(0.0, controls.soc_max - s.soc) / 100 * wh;
        b.time_to_full = std::min<std::int64_t>(not_applicable, std::llround(room / s.flows.battery_w * 60));
    } else if (s.flows.battery_w < -5) {
        const double left = std::max(0.0, s.soc - std::max(5.0, controls.soc_min)) / 100 * wh;
        b.time_to_empty = std::min<std::int64_t>(not_applicable, std::llround(left / -s.flows.battery_w * 60));
    }
    return b;
}

std::string zeros_hex(std::size_t bytes) {
    return std::string(bytes * 2, '0');
}

ValueMap home_data(const BlockContext& c) {
    const Snapshot& s = c.snapshot;
    const Flows& f = s.flows;
    const Battery b = battery_of(c);
    const double load = f.ac_load_w + f.dc_load_w;
    const double self_sufficiency = load > 0 ? 100.0 * (1.0 - std::min(load, f.grid_passthrough_w) / load) : 100.0;
    ValueMap v;
    v["pack_voltage"] = hundredths(b.voltage);
    v["pack_current"] = b.current;
    v["pack_soc"] = b.soc;
    v["charging_status"] = b.status;
    v["time_to_full"] = b.time_to_full;
    v["time_to_empty"] = b.time_to_empty;
    v["pack_aging_bits"] = std::int64_t{0};
    v["pack_count"] = std::int64_t{c.id.packs};
    v["pack_online_bits"] = std::int64_t{(1 << c.id.packs) - 1};
    v["canbus_fault_bits"] = std::int64_t{0};
    v["device_model"] = c.id.model_code.substr(0, 12);
    v["device_serial"] = c.id.sub_sn;
    v["inverter_count"] = std::int64_t{1};
    v["inverter_online_bits"] = std::int64_t{1};
    v["inverter_power_type"] = std::int64_t{1};
    v["energy_flow_bits"] = std::int64_t{0};
    v["control_status_bits"] = std::int64_t{0};
    v["grid_parallel_soc"] = std::int64_t{0};
    v["alarm_bits"] = zeros_hex(8);
    v["fault_bits"] = zeros_hex(12);
    v["dc_output_power"] = integer(f.dc_load_w);
    v["ac_output_power"] = integer(f.ac_load_w);
    v["pv_power"] = integer(f.pv_w);
    v["grid_power"] = integer(f.grid_w());
    v["inverter_power"] = integer(f.ac_load_w);
    v["dc_output_energy"] = tenths(s.energy.dc_output_kwh);
    v["ac_output_energy"] = tenths(s.energy.ac_output_kwh);
    v["pv_energy"] = tenths(s.energy.pv_kwh);
    v["grid_charge_energy"] = tenths(s.energy.grid_charge_kwh);
    v["feed_in_energy"] = tenths(s.energy.feed_in_kwh);
    const auto settings = c.settings.values(kBaseSettingsBlock);
    if (auto it = settings.find("charging_mode"); it != settings.end()) v["charging_mode_status"] = it->second;
    v["inverter_work_status"] = std::string("off_grid_run");  // code 1, as before the enum
    v["pv_to_ac_energy"] = tenths(s.energy.pv_to_ac_kwh);
    v["self_sufficiency"] = integer(self_sufficiency);
    v["pv_to_ac_power"] = integer(std::min(f.pv_w, f.ac_load_w));
    v["pack_discharge_energy"] = tenths(s.energy.battery_discharge_kwh);
    v["rated_voltage"] = std::int64_t{230};
    v["rated_frequency"] = 50.0;
    v["components_online_bits"] = std::int64_t{1};
    return v;
}

ValueMap inverter_base_info(const BlockContext& c) {
    const Snapshot& s = c.snapshot;
    ValueMap v;
    v["inverter_model"] = c.id.model_code.substr(0, 12);
    v["inverter_serial"] = c.id.sub_sn;
    const bool hub = c.id.profile == "AP300";
    v["firmware_count"] = std::int64_t{hub ? 4 : 3};
    v["firmware_arm_version"] = std::string("4011.05");
    v["firmware_dsp_version"] = std::string("4012.07");
    v["firmware_bms_version"] = std::string("4013.02");
    if (hub) v["firmware_dc_hub_version"] = std::string("9084.09");
    v["ambient_temperature"] = integer(s.ambient_temperature_c);
    v["inverter_temperature"] = integer(s.inverter_temperature_c);
    v["pv_dcdc_temperature"] = integer(std::min(35.0, s.inverter_temperature_c + 1));
    v["inverter_fault_code"] = std::int64_t{0};
    return v;
}

ValueMap pv_info(const BlockContext& c) {
    const Snapshot& s = c.snapshot;
    const Rating rating = rating_for(c.id.profile, c.id.packs);
    ValueMap v;
    v["pv_input_power"] = integer(s.flows.pv_w);
    v["pv_input_energy"] = tenths(s.energy.pv_kwh);
    v["pv_dc_string_count"] = std::int64_t{rating.pv_strings};
    v["pv_ac_string_count"] = std::int64_t{0};
    for (int i = 1; i <= rating.pv_strings; ++i) {
        const std::string prefix = "pv_string" + std::to_string(i) + "_";
        const double power = std::round(s.flows.pv_w / rating.pv_strings);
        const double voltage = power > 0 ? round_to(rating.pv_string_voltage * (0.9 + 0.1 * std::min(1.0, power / 200)), 1) : 0.0;
        v[prefix + "power"] = integer(power);
        v[prefix + "voltage"] = tenths(voltage);
        v[prefix + "current"] = tenths(voltage > 0 ? power / voltage : 0.0);
    }
    return v;
}

ValueMap grid_info(const BlockContext& c) {
    const Snapshot& s = c.snapshot;
    const double grid = std::fabs(std::round(s.flows.grid_w()));
    const double voltage = round_to(s.grid_voltage_v, 1);
    ValueMap v;
    v["grid_frequency"] = tenths(s.grid_frequency_hz);
    v["grid_charge_power"] = integer(s.flows.grid_charge_w);
    v["grid_import_energy"] = tenths(s.energy.grid_import_kwh);
    v["grid_export_energy"] = tenths(s.energy.feed_in_kwh);
    v["grid_phase_count"] = std::int64_t{1};
    v["grid_phase1_power"] = integer(grid);
    v["grid_phase1_voltage"] = voltage;
    v["grid_phase1_current"] = tenths(grid / voltage);
    v["grid_phase1_apparent_power"] = integer(grid * 1.02);
    return v;
}

ValueMap load_info(const BlockContext& c) {
    const Snapshot& s = c.snapshot;
    const double dc = std::round(s.flows.dc_load_w);
    const double ac = std::round(s.flows.ac_load_w);
    const double dc_voltage = 13.2;
    const double ac_voltage = round_to(s.inverter_voltage_v, 1);
    ValueMap v;
    v["dc_load_power"] = integer(dc);
    v["dc_load_energy"] = tenths(s.energy.dc_output_kwh);
    v["dc_5v_power"] = integer(dc * 0.2);
    v["dc_5v_current"] = tenths(dc * 0.2 / 5.0);
    v["dc_12v_power"] = integer(dc * 0.8);
    v["dc_12v_current"] = tenths(dc * 0.8 / 12.0);
    v["dc_24v_power"] = std::int64_t{0};
    v["dc_24v_current"] = 0.0;
    v["dc_load_voltage"] = dc > 0 ? dc_voltage : 0.0;
    v["dc_load_current"] = tenths(dc / dc_voltage);
    v["ac_load_power"] = integer(ac);
    v["ac_load_energy"] = tenths(s.energy.ac_output_kwh);
    v["ac_load_phase_count"] = std::int64_t{1};
    v["ac_load_phase1_power"] = integer(ac);
    v["ac_load_phase1_voltage"] = ac_voltage;
    v["ac_load_phase1_current"] = tenths(ac / ac_voltage);
    v["ac_load_phase1_apparent_power"] = integer(ac * 1.05);
    return v;
}

ValueMap inverter_info(const BlockContext& c) {
    const Snapshot& s = c.snapshot;
    const double ac = std::round(s.flows.ac_load_w);
    const double voltage = round_to(s.inverter_voltage_v, 1);
    ValueMap v;
    v["inverter_frequency"] = 50.0;
    v["inverter_energy"] = tenths(s.energy.ac_output_kwh);
    v["inverter_phase_count"] = std::int64_t{1};
    v["inverter_phase1_power"] = integer(ac);
    v["inverter_phase1_voltage"] = voltage;
    v["inverter_phase1_current"] = tenths(ac / voltage);
    return v;
}

ValueMap pack_main_info(const BlockContext& c) {
    const Snapshot& s = c.snapshot;
    const Battery b = battery_of(c);
    const Rating rating = rating_for(c.id.profile, c.id.packs);
    ValueMap v;
    v["bms_voltage_type"] = std::int64_t{0};
    v["bms_pack_count"] = std::int64_t{c.id.packs};
    v["bms_pack_online_bits"] = std::int64_t{(1 << c.id.packs) - 1};
    v["bms_voltage"] = hundredths(b.voltage);
    v["bms_current"] = b.current;
    v["bms_soc"] = b.soc;
    v["bms_soh"] = std::int64_t{98};
    v["bms_temperature"] = integer(s.battery_temperature_c);
    v["bms_running_status"] = std::int64_t{0x22};
    v["bms_charging_status"] = b.status;
    v["bms_max_charge_voltage"] = 58.4;
    v["bms_max_charge_current"] = tenths(rating.max_charge_w / 51.2);
    v["bms_max_discharge_current"] = tenths(rating.max_discharge_w / 51.2);
    v["bms_mos_bits"] = std::int64_t{3};
    v["bms_time_to_full"] = b.time_to_full;
    v["bms_time_to_empty"] = b.time_to_empty;
    v["bms_charge_energy"] = tenths(s.energy.battery_charge_kwh);
    v["bms_discharge_energy"] = tenths(s.energy.battery_discharge_kwh);
    v["bms_protection_bits"] = zeros_hex(4);
    v["bms_fault_bits"] = std::int64_t{0};
    return v;
}

std::string pack_prefix(int pack) {
    return "battery_pack" + std::to_string(pack) + "_";
}

ValueMap pack_item_info(const BlockContext& c, int pack) {
    const Snapshot& s = c.snapshot;
    const Battery b = battery_of(c);
    const std::string p = pack_prefix(pack);
    ValueMap v;
    v[p + "id"] = std::int64_t{pack - 1};
    v[p + "model"] = pack == 1 ? c.id.model_code.substr(0, 12) : std::string("B300");
    v[p + "serial"] = pack_serial(c.id, pack);
    v[p + "voltage"] = hundredths(b.voltage);
    v[p + "current"] = tenths(b.current / c.id.packs);
    v[p + "soc"] = b.soc;
    v[p + "soh"] = std::int64_t{99 - pack};
    v[p + "temperature"] = integer(std::clamp(s.battery_temperature_c + (pack - 1), 20.0, 35.0));
    v[p + "running_status"] = std::int64_t{0};
    v[p + "charging_status"] = b.status;
    v[p + "cell_count"] = std::int64_t{16};
    v[p + "ntc_count"] = std::int64_t{4};
    v[p + "firmware_count"] = std::int64_t{1};
    v[p + "firmware_bms_version"] = std::string("1073.08");
    return v;
}

ValueMap pack_cells(const BlockContext& c, int pack) {
    const Snapshot& s = c.snapshot;
    const std::string p = pack_prefix(pack);
    const auto cells = cell_millivolts(pack_voltage(s.soc, c.pack_voltage_scale), pack);
    ValueMap v;
    v[p + "cells_reported"] = std::int64_t{16};
    v[p + "ntcs_reported"] = std::int64_t{4};
    for (std::size_t i = 0; i < cells.size(); ++i) v[p + "cell" + std::to_string(i + 1) + "_voltage"] = cells[i] / 1000.0;
    for (int k = 1; k <= 4; ++k) {
        v[p + "ntc" + std::to_string(k) + "_temperature"] = integer(std::clamp(s.battery_temperature_c + (k % 2 ? 0.0 : 1.0), 20.0, 35.0));
    }
    const auto [lo, hi] = std::minmax_element(cells.begin(), cells.end());
    v[p + "cell_voltage_min"] = *lo / 1000.0;
    v[p + "cell_voltage_max"] = *hi / 1000.0;
    v[p + "cell_voltage_delta"] = (*hi - *lo) / 1000.0;
    return v;
}

// NODE_INFO (AP300): the main unit at slave 0 (model 6) and its B300 pack at slave 51 (model 4005),
// laid out like docs/protocol.md G8.
ValueMap node_info(const BlockContext& c) {
    ValueMap v;
    v["node_info_version"] = std::int64_t{1};
    v["node_count"] = std::int64_t{2};
    v["node1_group"] = std::int64_t{0};
    v["node1_slave"] = std::int64_t{0};
    v["node1_slave_group"] = std::int64_t{0};
    v["node1_parent"] = std::int64_t{0};
    v["node1_status_bits"] = std::int64_t{1};
    v["node1_serial"] = c.id.sub_sn;
    v["node1_model_code"] = std::int64_t{6};
    v["node2_group"] = std::int64_t{32};
    v["node2_slave"] = std::int64_t{51};
    v["node2_slave_group"] = std::int64_t{32};
    v["node2_parent"] = std::int64_t{0};
    v["node2_status_bits"] = std::int64_t{1};
    v["node2_serial"] = pack_serial(c.id, 2);
    v["node2_model_code"] = std::int64_t{4005};
    return v;
}

}  // namespace

double pack_voltage(double soc, double scale) {
    const double v = 48.0 + 8.0 * std::clamp(soc, 0.0, 100.0) / 100.0;
    return round_to(std::round(v / scale) * scale, 2);
}

std::array<int, 16> cell_millivolts(double pack_voltage_v, int pack) {
    // Deviations of a few mV that add up to zero; rotated per pack so packs differ.
    static constexpr std::array<int, 16> kSpread{2, -1, 0, 1, -2, 1, 0, -1, 1, -2, 0, 1, -1, 2, 0, -1};
    const auto total = static_cast<int>(std::lround(pack_voltage_v * 1000));
    const int base = total / 16;
    const int remainder = total % 16;
    std::array<int, 16> cells{};
    for (std::size_t i = 0; i < cells.size(); ++i) {
        cells[i] = base + kSpread[(i + static_cast<std::size_t>(pack)) % 16] + (static_cast<int>(i) < remainder ? 1 : 0);
    }
    return cells;
}

std::string pack_serial(const DeviceIdentity& id, int pack) {
    if (pack <= 1) return id.sub_sn;
    constexpr std::uint64_t kLow = 1'000'000'000'000ull;
    return std::to_string(fnv1a64(id.sn + "/pack" + std::to_string(pack)) % (9 * kLow) + kLow);
}

ValueMap block_values(std::uint16_t block, int pack, const BlockContext& context) {
    switch (block) {
        case 100:
            return home_data(context);
        case 1100:
            return inverter_base_info(context);
        case 1200:
            return pv_info(context);
        case 1300:
            return grid_info(context);
        case 1400:
            return load_info(context);
        case 1500:
            return inverter_info(context);
        case 6000:
            return pack_main_info(context);
        case 6100:
            return pack_item_info(context, pack);
        case 6300:
            return pack_cells(context, pack);
        case 21000:
            return node_info(context);
        default:
            return {};
    }
}

}  // namespace bluetti::sim
