// The values a simulated station intends for each block, as decoded values (numbers in engineering
// units, enum labels, booleans, strings), keyed like schema::decode's output. The device turns them
// into register data with schema::encode; tests decode that data and compare with these maps.
// Pure functions of the device identity, a model snapshot and the settings file.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "bluetti/schema/codec.hpp"
#include "sim/device_spec.hpp"
#include "sim/physics.hpp"
#include "sim/settings.hpp"

namespace bluetti::sim {

struct BlockContext {
    const DeviceIdentity& id;
    const Snapshot& snapshot;
    const SettingsFile& settings;
    double pack_voltage_scale = 0.01;  // the profile's scale for pack_voltage (0.01 V, GENERIC_V2 0.1 V)
};

// Values of a measurement block (100, 1100, 1200, 1300, 1400, 1500, 6000, 6100, 6300, 21000);
// `pack` numbers the per-pack blocks 6100/6300 (1 = the main unit's own pack). Settings blocks
// come from SettingsFile::values. Empty for a block the simulator does not model.
schema::ValueMap block_values(std::uint16_t block, int pack, const BlockContext& context);

// The pack voltage the device reports (48–56 V from SOC for an LFP 16s pack, on the profile's
// scale); the cells of block 6300 add up to exactly this.
double pack_voltage(double soc, double scale);

// Cell voltages in mV of a 16-cell pack: about 3.3 V each, summing exactly to the pack voltage.
std::array<int, 16> cell_millivolts(double pack_voltage_v, int pack);

// The serial of pack `pack` (1 = the main unit's own: the sub-serial).
std::string pack_serial(const DeviceIdentity& id, int pack);

}  // namespace bluetti::sim
