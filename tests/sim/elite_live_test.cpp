// The simulated Elite 200 V2 answers as the live unit does (docs/simulator.md): refusals past a
// block's end, block 6300 of 20 registers, 0x0194 where it implements nothing, 5994 minutes for a
// time that does not apply. Other models keep answering short.
#include "sim_support.hpp"

using namespace bluetti;
using namespace bluetti::sim;
using namespace bluetti::sim::testing;

namespace {

Reply read(SimDevice& d, std::uint16_t start, std::uint16_t count) {
    return parse_reply(d.handle(v2(start, read_frame(d.slave(), start, count))));
}

std::uint16_t reg(const Reply& r, std::size_t offset) {
    return static_cast<std::uint16_t>(r.frame.data[2 * offset] << 8 | r.frame.data[2 * offset + 1]);
}

}  // namespace

TEST_CASE("Elite 200 V2 (sim): 6300 x 25 is refused with exception 02, 6300 x 20 answered, other models answer short") {
    TestClock clock{local_time(2026, 6, 21, 3)};
    auto elite = make_device("ELITE200V2", clock);
    const Reply refused = read(*elite, 6300, 25);
    REQUIRE(refused.frame.kind == codec::FrameKind::exception);
    CHECK(refused.frame.exception_code == 2);
    const Reply answered = read(*elite, 6300, 20);
    REQUIRE(answered.frame.kind == codec::FrameKind::read_reply);
    CHECK(answered.frame.data.size() == 40);
    // Past the end from inside a block too.
    CHECK(read(*elite, 150, 30).frame.kind == codec::FrameKind::exception);
    CHECK(read(*elite, 150, 22).frame.kind == codec::FrameKind::read_reply);

    auto ap300 = make_device("AP300", clock);
    const Reply short_answer = read(*ap300, 6300, 25);
    REQUIRE(short_answer.frame.kind == codec::FrameKind::read_reply);
    CHECK(short_answer.frame.data.size() == 44);
}

TEST_CASE("Elite 200 V2 (sim): registers it does not implement read 0x0194, whatever was written") {
    TestClock clock{local_time(2026, 6, 21, 3)};
    auto elite = make_device("ELITE200V2", clock);
    const Reply base = read(*elite, 2000, 30);
    REQUIRE(base.frame.kind == codec::FrameKind::read_reply);
    CHECK(reg(base, 7) == 0x0194);
    CHECK(reg(base, 10) == 0x0194);  // inverter_switch
    const Reply advanced = read(*elite, 2200, 20);
    REQUIRE(advanced.frame.kind == codec::FrameKind::read_reply);
    for (const std::size_t r : {7u, 8u, 11u, 13u, 15u, 16u, 17u}) {
        CAPTURE(r);
        CHECK(reg(advanced, r) == 0x0194);
    }
    const Reply home = read(*elite, 100, 62);
    REQUIRE(home.frame.kind == codec::FrameKind::read_reply);
    CHECK(home.frame.data[51] == 0x94);                    // grid_parallel_soc: "148 %"
    CHECK(reg(home, 58) == 0x0194);                        // feed_in_energy, low word first ...
    CHECK(reg(home, 59) == 0);                             // ... so it reads 404 (40.4 kWh)
    CHECK(read(*elite, 1300, 31).frame.data[11] == 0x94);  // grid_export_energy

    auto ap300 = make_device("AP300", clock);
    CHECK(reg(read(*ap300, 2200, 20), 7) != 0x0194);
}

TEST_CASE("Elite 200 V2 (sim): time to full reads 5994 while not charging, the AP300 reads 20100") {
    TestClock clock{local_time(2026, 6, 21, 3)};  // night: no sun, the battery carries the loads
    auto elite = make_device("ELITE200V2", clock);
    auto ap300 = make_device("AP300", clock);
    CHECK(reg(read(*elite, 100, 62), 4) == 5994);  // time_to_full, register 104
    CHECK(reg(read(*ap300, 100, 62), 4) == 20100);
}
