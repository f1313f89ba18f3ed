// The only registers the bridge may ever write (docs/protocol.md §8), with their allowed values.
// build_write_single() checks this table, so no code path above the codec can build an FC 06 frame
// for any other register: not an MQTT command, not bluetti-cli write, not the C++ API.
// 2013 (power off), 2206 (factory reset) and 2233 (battery-aging routine) are deliberately absent.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace bluetti::codec {

struct WritableRegister {
    std::uint16_t reg;
    std::string_view key;  // canonical control key
    std::uint16_t min;
    std::uint16_t max;
};

std::span<const WritableRegister> writable_registers();
const WritableRegister* find_writable(std::uint16_t reg);
const WritableRegister* find_writable(std::string_view key);

// Registers that must never be written, for the tests and the error messages that name them.
inline constexpr std::uint16_t kPowerOffRegister = 2013;
inline constexpr std::uint16_t kFactoryResetRegister = 2206;
inline constexpr std::uint16_t kBatteryAgingRegister = 2233;

}  // namespace bluetti::codec
