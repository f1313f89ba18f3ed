#include "sim/answer_style.hpp"

namespace bluetti::sim {

namespace {

constexpr std::uint16_t kNotSupported = 0x0194;

// The Elite 200 V2 as owners read it over Bluetooth on live hardware: unimplemented registers read
// 0x0194 (2007, 2010, 2207, 2208, 2211, 2213, 2215–2217; in block 100 the registers of
// grid_parallel_soc, feed_in_energy, pv_to_ac_energy, self_sufficiency, pv_to_ac_power; block 1300's
// grid_export_energy), 5994 minutes for a time that does not apply, block 6300 exactly 20
// registers, and exception 02 to reads past a block's end.
AnswerStyle elite200v2() {
    AnswerStyle s;
    s.refuses_past_end = true;
    // 6100: its size on this model is not known, so the profile's read (104) is answered whole
    // rather than refused on a guess.
    s.block_registers = {{6300, 20}, {6100, 104}};
    s.not_applicable_minutes = 5994;
    s.grid_charge_register = 2008;  // 2207 reads "not supported" (below)
    constexpr std::uint16_t kSettings[] = {2007, 2010, 2207, 2208, 2211, 2213, 2215, 2216, 2217};
    for (const std::uint16_t reg : kSettings) s.unimplemented[reg] = kNotSupported;
    // Block 100: the register holding byte 51 (grid_parallel_soc) and 129 (self_sufficiency); the
    // word-swapped u32 fields at bytes 116, 124 and 130 (low word first), and 1300's at byte 10.
    constexpr std::uint16_t kBytes[] = {125, 164};
    constexpr std::uint16_t kLowWords[] = {158, 162, 165, 1305};
    for (const std::uint16_t reg : kBytes) s.unimplemented[reg] = kNotSupported;
    for (const std::uint16_t low : kLowWords) {
        s.unimplemented[low] = kNotSupported;
        s.unimplemented[static_cast<std::uint16_t>(low + 1)] = 0;
    }
    return s;
}

}  // namespace

AnswerStyle answer_style(std::string_view profile) {
    if (profile == "ELITE200V2") return elite200v2();
    return {};
}

}  // namespace bluetti::sim
