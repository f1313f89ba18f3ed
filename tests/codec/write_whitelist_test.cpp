// No path can build an FC 06 frame for a register outside docs/protocol.md §8, or a value outside its
// range: the builder is the last point before bytes exist, and it checks every call.
#include "bluetti/codec/write_whitelist.hpp"
#include "bluetti/codec/frame.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::codec;

TEST_CASE("the never-write registers cannot be built, whatever the value") {
    for (std::uint16_t reg : {kPowerOffRegister, kFactoryResetRegister, kBatteryAgingRegister}) {
        CAPTURE(reg);
        for (std::uint32_t value = 0; value <= 0xFFFF; value += 257) {
            auto frame = build_write_single(0, reg, static_cast<std::uint16_t>(value));
            REQUIRE_FALSE(frame.ok());
            CHECK(frame.error().code == Errc::forbidden_write);
        }
    }
}

TEST_CASE("every register outside the whitelist is refused") {
    std::size_t allowed = 0;
    for (std::uint32_t reg = 0; reg <= 0xFFFF; ++reg) {
        const auto* w = find_writable(static_cast<std::uint16_t>(reg));
        auto frame = build_write_single(0, static_cast<std::uint16_t>(reg), w ? w->min : 0);
        if (w) {
            ++allowed;
            CHECK(frame.ok());
        } else {
            CHECK_FALSE(frame.ok());
        }
    }
    CHECK(allowed == writable_registers().size());
    CHECK(allowed == 16);
}

TEST_CASE("values outside a control's range are refused with its name") {
    auto frame = build_write_single(0, 2213, 200);  // grid_charge_power_limit takes 300..6000
    REQUIRE_FALSE(frame.ok());
    CHECK(frame.error().message.find("grid_charge_power_limit (register 2213) takes 300..6000, not 200") != std::string::npos);
    CHECK_FALSE(build_write_single(0, 2020, 3).ok());  // charging mode "custom" is read-only
    CHECK(build_write_single(0, 2020, 2).ok());
    CHECK(find_writable("ac_output_switch")->reg == 2011);
    CHECK(find_writable("power_off") == nullptr);
}
