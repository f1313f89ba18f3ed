// How a model's firmware answers where models differ: what a register it does not implement reads,
// what a time that does not apply reads, and whether a read running past a block's end is answered
// short or refused. The Elite 200 V2 answers as its live readings show (docs/simulator.md).
#pragma once

#include <cstdint>
#include <map>
#include <string_view>

namespace bluetti::sim {

struct AnswerStyle {
    // Exception 02 to a read that runs past the end of a block (else it gets the registers up to it).
    bool refuses_past_end = false;
    // Registers per block where the model has fewer than the simulator's default.
    std::map<std::uint16_t, std::uint16_t> block_registers;
    // Registers the model does not implement, with the raw value they read (0x0194; 0 for the high
    // word of a 32-bit field, so the field reads 404).
    std::map<std::uint16_t, std::uint16_t> unimplemented;
    // time_to_full / time_to_empty while they do not apply (not charging / not discharging).
    std::int64_t not_applicable_minutes = 20100;  // an idle AP300 (docs/protocol.md §6.4)
    // Where grid charging lives: 2207 (block 2200) on most models, 2008 on the Elite 200 V2.
    std::uint16_t grid_charge_register = 2207;
};

// The style of the profile named `profile`.
AnswerStyle answer_style(std::string_view profile);

}  // namespace bluetti::sim
