// The reads of the simulator's other cloud client (--app-reads) without a broker: which blocks it
// reads, that its seeded choice covers full, partial and inside-the-block reads and never leaves
// the block, that its payload is the request the bridge would send, and that the device answers
// each one with the block's bytes from the read's start.
#include <map>
#include <set>
#include <tuple>

#include "sim/app_client.hpp"
#include "sim_support.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::sim;
using namespace bluetti::sim::testing;

namespace {

constexpr int kDraws = 3000;

using BlockKey = std::tuple<std::uint16_t, std::uint8_t, std::uint16_t>;  // block, slave, read size

std::set<BlockKey> keys(const std::vector<AppBlock>& blocks) {
    std::set<BlockKey> out;
    for (const AppBlock& b : blocks) out.emplace(b.block, b.slave, b.read);
    return out;
}

BlockKey key(const AppBlock& b) {
    return {b.block, b.slave, b.read};
}

}  // namespace

TEST_CASE("app blocks: the profile's block reads the device answers, per-pack ones also at the expansion pack") {
    TestClock clock{local_time(2026, 6, 21, 13, 30)};
    auto ap = make_device("AP300", clock);
    const std::set<BlockKey> expected{{100, 0, 62},    {1300, 0, 31},  {1500, 0, 30}, {1400, 0, 48},  {1200, 0, 42},
                                      {6000, 0, 34},   {2000, 0, 30},  {2200, 0, 20}, {6100, 0, 104}, {6300, 0, 25},
                                      {6100, 51, 104}, {6300, 51, 25}, {1100, 0, 55}};
    CHECK(keys(app_blocks(*ap)) == expected);  // no 21000: NODE_INFO is a query, not a read

    auto el30 = make_device("EL30V2", clock);
    const std::set<BlockKey> el30_blocks = keys(app_blocks(*el30));
    CHECK(el30_blocks.count({2200, 0, 20}) == 0);  // polled by the profile, but the EL30V2 has no 2200
    CHECK(el30_blocks.count({6100, 51, 104}) == 0);
    CHECK(el30_blocks.count({100, 0, 62}) == 1);
}

TEST_CASE("app reads: full, partial and inside-the-block reads over many draws, never outside the block") {
    TestClock clock{local_time(2026, 6, 21, 13, 30)};
    for (const profile::Profile* p : profiles().all()) {
        CAPTURE(p->model);
        auto d = make_device(p->model, clock);
        const std::set<BlockKey> answered = keys(app_blocks(*d));
        Rng rng(42);
        std::map<AppReadKind, int> kinds;
        std::set<BlockKey> seen;
        for (int i = 0; i < kDraws; ++i) {
            const std::optional<AppRead> r = choose_app_read(rng, *d);
            REQUIRE(r.has_value());
            CAPTURE(r->block.block);
            CAPTURE(r->start);
            CAPTURE(r->count);
            REQUIRE(answered.count(key(r->block)) == 1);
            CHECK(r->block.block != kNodeInfoBlock);
            CHECK(r->count >= 1);
            CHECK(r->start >= r->block.block);
            CHECK(r->start + r->count <= r->block.block + r->block.read);
            switch (r->kind) {
                case AppReadKind::full:
                    CHECK((r->start == r->block.block && r->count == r->block.read));
                    break;
                case AppReadKind::partial:
                    CHECK((r->start == r->block.block && r->count < r->block.read));
                    break;
                case AppReadKind::inside:
                    CHECK(r->start > r->block.block);
                    break;
            }
            ++kinds[r->kind];
            seen.insert(key(r->block));
        }
        for (const AppReadKind kind : {AppReadKind::full, AppReadKind::partial, AppReadKind::inside}) {
            CHECK(kinds[kind] > kDraws / 4);  // about a third each
        }
        CHECK(seen == answered);  // every block the device answers gets read
    }
}

TEST_CASE("app reads: the same seed gives the same reads") {
    TestClock clock{local_time(2026, 6, 21, 13, 30)};
    auto d = make_device("AP300", clock);
    Rng a(9), b(9), other(10);
    int differ = 0;
    for (int i = 0; i < 200; ++i) {
        const auto x = choose_app_read(a, *d), y = choose_app_read(b, *d), z = choose_app_read(other, *d);
        REQUIRE((x && y && z));
        CHECK((x->block.block == y->block.block && x->block.slave == y->block.slave && x->start == y->start && x->count == y->count));
        differ += x->start != z->start || x->count != z->count;
    }
    CHECK(differ > 100);
}

TEST_CASE("an app read is the bridge's request, and the device answers it with the block's bytes from its start") {
    TestClock clock{local_time(2026, 6, 21, 13, 30)};
    auto d = make_device("AP300", clock);
    const AppRead full100{AppReadKind::full, AppBlock{100, 0, 62}, 100, 62};
    auto payload = app_read_payload(*d, full100);
    REQUIRE(payload.ok());
    CHECK(to_hex(*payload) == "01f80f0064000000000000030064003e8414");  // the bridge's read 100 × 62 at slave 0

    Rng rng(3);
    int answered = 0;
    for (int i = 0; i < 500; ++i) {
        const std::optional<AppRead> r = choose_app_read(rng, *d);
        REQUIRE(r.has_value());
        auto request = app_read_payload(*d, *r);
        REQUIRE(request.ok());
        CAPTURE(to_hex(*request));
        const Reply reply = parse_reply(d->handle(*request));
        CHECK(reply.frame.slave == r->block.slave);
        const std::size_t offset = r->start - r->block.block;
        const std::size_t has = d->block_registers(r->block.block);
        if (offset >= has) {  // 6100/6300: the profile reads more registers than the device has
            REQUIRE(reply.frame.kind == codec::FrameKind::exception);
            CHECK(reply.frame.exception_code == 2);
            continue;
        }
        REQUIRE(reply.frame.kind == codec::FrameKind::read_reply);
        auto data = d->block_data(r->block.block, r->block.slave);
        REQUIRE(data.ok());
        const std::size_t registers = std::min<std::size_t>(r->count, has - offset);
        CHECK(to_hex(reply.frame.data) == to_hex(ByteSpan(*data).subspan(2 * offset, 2 * registers)));
        ++answered;
    }
    CHECK(answered > 400);
}

TEST_CASE("--app-reads MIN_MS:MAX_MS or MS") {
    auto range = parse_app_read_period("300:900");
    REQUIRE(range.ok());
    CHECK(range->min == std::chrono::milliseconds(300));
    CHECK(range->max == std::chrono::milliseconds(900));
    auto single = parse_app_read_period("250");
    REQUIRE(single.ok());
    CHECK(single->min == std::chrono::milliseconds(250));
    CHECK(single->max == std::chrono::milliseconds(250));
    for (const char* bad : {"", ":", "0:5", "0", "900:300", "a:b", "300:", ":300", "1:2:3", "3600001", "-5:10", "+5", "5 :10"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_app_read_period(bad).ok());
    }
}
