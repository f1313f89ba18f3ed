// The controls of one device (docs/protocol.md §8): which whitelisted registers it may be written through,
// the schema row that reads each one back, and how a command payload becomes a register value.
// Everything here is pure; DeviceChannel enforces the register set, the codec the global whitelist.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/codec/write_whitelist.hpp"
#include "bluetti/result.hpp"
#include "bluetti/schema/registry.hpp"
#include "bluetti/schema/value.hpp"

namespace bluetti::profile {

struct Control {
    std::string key;
    const codec::WritableRegister* limits = nullptr;  // register and allowed raw range
    const schema::BlockSchema* block = nullptr;       // the settings block that reads it back
    const schema::FieldSpec* field = nullptr;
    enum class Kind { switch_, select, number } kind = Kind::number;
};

// The controls named by `keys` that are on the codec whitelist and read back by a plain row of
// `schemas` (no scale or transforms, so the value read is the value written). Others are skipped;
// `rejected` (when given) says why for each.
std::vector<Control> resolve_controls(const schema::SchemaRegistry& schemas, const std::vector<std::string>& keys,
                                      std::vector<std::string>* rejected = nullptr);
std::set<std::uint16_t> control_registers(const std::vector<Control>& controls);

// The controls whose readback in `block` is the model's "not supported" sentinel
// (DecodedBlock::not_supported): the device does not implement them, so they are not offered.
std::vector<std::string> unsupported_controls(const std::vector<Control>& controls, const schema::DecodedBlock& block);

// A command payload (Home Assistant's or bluetti-cli's) to the register value, or the reason it is
// refused: switch ON/OFF (also on/off, true/false, 1/0); select an option label (or its code);
// number an integer (an integral "42.0" too) inside the whitelist range. `settings` are the last
// values read of the other controls, for the rules between them (discharge limit below charge limit).
Result<std::uint16_t, std::string> parse_control_value(const Control& control, std::string_view payload,
                                                       const std::map<std::string, std::int64_t>& settings = {});

}  // namespace bluetti::profile
