// The controls of one device (docs/protocol.md §8): which whitelisted registers it may be written through,
// the schema row that reads each one back, and how a command payload becomes a register value.
// Everything here is pure; DeviceChannel enforces the register set, the codec the global whitelist.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
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
    // What an entity may offer, from the whitelist: the raw range in whole steps and, for a select,
    // the distinct labels of the row's options inside that range, in code order. Home Assistant
    // discovery builds numbers and selects from these, so it never needs to know the register.
    std::uint16_t min = 0;
    std::uint16_t max = 0;
    std::uint16_t step = 1;
    std::vector<std::string> options;
};

// The control `key` as `field` (of `block`) reads it back, with its kind and limits, when the key is
// on the codec whitelist; nullopt otherwise. Unlike resolve_controls, the row is the caller's and
// is taken as it is (no readback checks): discovery shows what a station says it may write.
std::optional<Control> describe_control(std::string_view key, const schema::BlockSchema* block, const schema::FieldSpec& field);

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
