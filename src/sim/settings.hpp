// The settings of a simulated station (blocks 2000 and 2200) as a register file: register → u16,
// initialised with plausible defaults, read back by FC 03 and changed by FC 06 writes that pass the
// docs/protocol.md §8 whitelist (codec/write_whitelist.hpp) and its ranges. Pure logic, no I/O. The
// working mode (2005), the time-control switch (2029) and the six time slots (2030–2047) are
// read-only: the whitelist has none of them.
//
// The u8 controls of block 2000 sit in the low byte of their register (schema offset = 2·(reg −
// 2000) + 1), the u16 limits of block 2200 fill theirs: a register's value is written big-endian at
// 2·(reg − block), which is exactly where the schemas read them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>

#include "bluetti/hex.hpp"
#include "bluetti/schema/codec.hpp"
#include "sim/physics.hpp"

namespace bluetti::sim {

inline constexpr std::uint16_t kBaseSettingsBlock = 2000;
inline constexpr std::uint16_t kAdvancedSettingsBlock = 2200;
inline constexpr std::uint16_t kBaseSettingsRegisters = 48;      // 2000–2047
inline constexpr std::uint16_t kAdvancedSettingsRegisters = 20;  // 2200–2219
inline constexpr std::uint16_t kGridChargeRegister = 2207;       // the write whitelist's

// What an FC 06 write to the file comes to.
enum class WriteOutcome : std::uint8_t {
    written,        // whitelisted, in range: the file changed; the device echoes the frame
    out_of_range,   // whitelisted but the value is outside §8's range: exception 03
    not_writable,   // not in the whitelist (2013, 2206, 2233, anything else): exception 02, counted
    no_such_block,  // whitelisted, but the device lacks the block (EL30V2 and 22xx): exception 02
};

std::string_view to_string(WriteOutcome outcome);

class SettingsFile {
public:
    // `has_advanced`: the device answers block 2200 (every profile but EL30V2).
    // `grid_charge_register`: where the model keeps grid charging (2008 on the Elite 200 V2).
    explicit SettingsFile(bool has_advanced, std::uint16_t grid_charge_register = kGridChargeRegister);

    bool has_block(std::uint16_t block) const;
    std::uint16_t get(std::uint16_t reg) const;  // 0 for registers never set

    // The §8 checks, then the write. Relational limits: soc_discharge_limit must stay below
    // soc_charge_limit and the other way round (else out_of_range).
    WriteOutcome write(std::uint16_t reg, std::uint16_t value);

    // `registers` registers of a block's data read back from the file (FC 03 reply data).
    Bytes block_data(std::uint16_t block, std::size_t registers) const;

    // The decoded values the file stands for, keyed like schema::decode (for tests and pushes).
    schema::ValueMap values(std::uint16_t block) const;

    // What the physical model reacts to.
    Controls controls() const;

private:
    bool has_advanced_;
    std::uint16_t grid_charge_register_;
    std::map<std::uint16_t, std::uint16_t> registers_;
};

}  // namespace bluetti::sim
