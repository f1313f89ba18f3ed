// ReplyAttribution alone: learned lengths, the request mirror's order, contention.
#include "bluetti/cloud/reply_attribution.hpp"

#include "support.hpp"

using namespace bluetti::cloud;
using namespace std::chrono_literals;

namespace {

const ReplyAttribution::TimePoint t0{std::chrono::hours(1)};
const ReadShape kHome{0, 100, 62};       // answered with 124 bytes
const ReadShape kInv{0, 1500, 30};       // 60 bytes
const ReadShape kSettings{0, 2000, 30};  // 60 bytes too

}  // namespace

TEST_CASE("attribution: quiet, the first reply in range is ours and its length is then required") {
    ReplyAttribution a;
    CHECK(a.attribute(0, 124, kHome, 12, t0) == Attribution::ours);
    a.learn(kHome, 124);
    CHECK(a.learned(kHome) == std::size_t{124});
    // Quiet still, but another length: maybe a real change (firmware, packs): confirm it.
    CHECK(a.attribute(0, 60, kHome, 12, t0) == Attribution::candidate);
    // Out of range for the read, or another slave, or nothing in flight: not ours.
    CHECK(a.attribute(0, 126, kHome, 12, t0) == Attribution::mismatch);
    CHECK(a.attribute(0, 10, kHome, 12, t0) == Attribution::mismatch);
    CHECK(a.attribute(1, 124, kHome, 12, t0) == Attribution::mismatch);
    CHECK(a.attribute(0, 124, std::nullopt, 12, t0) == Attribution::mismatch);
}

TEST_CASE("attribution: without the mirror, contention makes every reply a candidate until it has passed") {
    ReplyAttribution a({.contention_hold = 60s});
    a.learn(kInv, 60);
    a.stray_seen(t0);
    CHECK(a.contended(t0 + 1s));
    CHECK(a.attribute(0, 60, kInv, 18, t0 + 1s) == Attribution::candidate);
    // Under contention a reply of another length than the learnt one is no candidate at all.
    CHECK(a.attribute(0, 58, kInv, 18, t0 + 1s) == Attribution::mismatch);
    CHECK_FALSE(a.contended(t0 + 61s));
    CHECK(a.attribute(0, 60, kInv, 18, t0 + 61s) == Attribution::ours);
}

TEST_CASE("attribution: the mirror's order tells another client's reply from ours") {
    ReplyAttribution a;
    a.learn(kInv, 60);
    a.learn(kSettings, 60);
    a.read_seen(kSettings, false, t0);  // the app reads 2000 × 30 first
    a.read_sent(kInv, t0 + 10ms);
    a.read_seen(kInv, true, t0 + 20ms);  // then our 1500 × 30
    CHECK(a.echoed());
    CHECK(a.foreign_reads() == 1);
    CHECK(a.contended(t0 + 30ms));
    // The device answers in order: the first 60-byte reply is the app's, the second ours.
    CHECK(a.attribute(0, 60, kInv, 18, t0 + 400ms) == Attribution::foreign);
    CHECK(a.attribute(0, 60, kInv, 18, t0 + 410ms) == Attribution::ours);
}

TEST_CASE("attribution: a rival read still pending that could give the same bytes makes ours a candidate") {
    ReplyAttribution a;
    a.learn(kInv, 60);
    a.read_sent(kInv, t0);
    a.read_seen(kInv, true, t0 + 10ms);
    a.read_seen(kSettings, false, t0 + 20ms);  // after ours: if the device dropped ours, this one answers
    CHECK(a.attribute(0, 60, kInv, 18, t0 + 400ms) == Attribution::candidate);
}

TEST_CASE("attribution: another client's read of the same shape is no rival, and one of another length is none either") {
    ReplyAttribution a;
    a.learn(kInv, 60);
    a.learn(kHome, 124);
    a.read_sent(kInv, t0);
    a.read_seen(kInv, true, t0 + 10ms);
    a.read_seen(kHome, false, t0 + 20ms);         // 124 bytes: cannot be mistaken for 60
    a.read_seen({0, 100, 20}, false, t0 + 30ms);  // a partial read: 40 bytes at most
    a.read_seen(kInv, false, t0 + 40ms);          // the same block: harmless
    CHECK(a.attribute(0, 60, kInv, 18, t0 + 400ms) == Attribution::ours);
    // Their replies are theirs.
    CHECK(a.attribute(0, 124, std::nullopt, 0, t0 + 500ms) == Attribution::foreign);
    CHECK(a.attribute(0, 40, std::nullopt, 0, t0 + 500ms) == Attribution::foreign);
    CHECK(a.attribute(0, 60, std::nullopt, 0, t0 + 500ms) == Attribution::foreign);
    CHECK(a.attribute(0, 60, std::nullopt, 0, t0 + 500ms) == Attribution::mismatch);
}

TEST_CASE("attribution: pending reads expire, and a flood on the request topic is bounded") {
    ReplyAttribution a({.pending_ttl = 5s, .max_pending = 8});
    for (int i = 0; i < 1000; ++i) a.read_seen({0, 1500, 30}, false, t0);
    int foreign = 0;
    for (int i = 0; i < 1000; ++i) foreign += a.attribute(0, 60, std::nullopt, 0, t0) == Attribution::foreign;
    CHECK(foreign == 8);
    a.read_seen({0, 1500, 30}, false, t0);
    CHECK(a.attribute(0, 60, std::nullopt, 0, t0 + 6s) == Attribution::mismatch);  // expired: a stray now
}

TEST_CASE("attribution: exceptions follow the same order") {
    ReplyAttribution a;
    a.read_seen({0, 7000, 10}, false, t0);  // the app reads a block the device refuses
    a.read_sent(kInv, t0 + 10ms);
    a.read_seen(kInv, true, t0 + 20ms);
    CHECK(a.attribute_exception(0, kInv, t0 + 400ms) == Attribution::foreign);
    CHECK(a.attribute_exception(0, kInv, t0 + 410ms) == Attribution::ours);
    // Without the mirror and with contention: a candidate.
    ReplyAttribution b;
    b.stray_seen(t0);
    CHECK(b.attribute_exception(0, kInv, t0 + 1s) == Attribution::candidate);
}
