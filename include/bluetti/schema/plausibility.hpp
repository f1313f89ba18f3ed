// Plausibility of a decoded block: is every value one a real device can report?
//
// An FC 03 reply carries no register address, so a reply to another cloud client's read can be
// taken for the answer to ours and decoded as the wrong block: a dc_load_power of 842154612 W.
// The schemas carry each numeric row's plausible range (`valid`, block_schema.hpp); a frame with
// one value outside its range is rejected whole.
// The ranges are generous on purpose: they must never refuse a real device's answer.
//
// Pure functions: no logging, no state. They never change a decoded value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bluetti/schema/value.hpp"

namespace bluetti::schema {

// The first value of a block outside its row's range.
struct Implausible {
    std::uint16_t block = 0;
    std::string key;
    double value = 0;
    double min = 0;
    double max = 0;
    bool zero = false;  // 0 would have been plausible too
    std::string unit;
};

// "block 1400: dc_load_power = 842154612 W is outside its plausible range 0 … 7680 W".
std::string to_string(const Implausible& finding);

// The first present numeric value of `block` outside the range of its row (field.spec), in
// schema order; none when every value is plausible. Absent values are never checked. `schema` is
// the schema `block` was decoded with (it names the block in the finding).
std::optional<Implausible> check_plausible(const BlockSchema& schema, const DecodedBlock& block);

// The pack voltage (block 100 / 6000) against the sum of one pack's cell voltages (6300): the check
// that tells whether a profile's pack-voltage scale (0.1 V or 0.01 V) is right. Packs of one station sit in parallel, so any one pack's sum
// will do.
enum class PackVoltageCheck : std::uint8_t {
    consistent,     // within 15 % of the cell sum
    scale_suspect,  // within 15 % of 10× or 0.1× the cell sum: the profile's pack-voltage scale is
                    // probably wrong (0.1 V where the device counts 0.01 V, or the other way round)
    inconsistent,   // neither, or nothing to compare (a cell sum that is not a positive number)
};
std::string_view to_string(PackVoltageCheck check);
PackVoltageCheck check_pack_voltage(double pack_voltage, double cells_sum);

}  // namespace bluetti::schema
