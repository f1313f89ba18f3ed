#include "bridge/poll_scheduler.hpp"

#include <doctest/doctest.h>

using namespace bluetti::bridge;
using namespace std::chrono_literals;

namespace {
std::vector<GroupSchedule> groups() {
    return {{"core", 10s, {100, 1300}}, {"battery", 30s, {6000}}, {"settings", 60s, {2000, 2200}}};
}
const auto never_busy = [](const std::string&) { return false; };
}  // namespace

TEST_CASE("every group is due at start, in profile order, then at its interval") {
    PollScheduler s;
    const Clock::time_point t0{};
    s.add_device("A", groups(), t0);
    std::vector<std::string> order;
    while (auto p = s.next(t0, never_busy)) {
        order.push_back(p->group);
        s.polled(p->device, p->group, t0);
    }
    CHECK(order == std::vector<std::string>{"core", "battery", "settings"});
    CHECK(s.next_due() == t0 + 10s);
    CHECK_FALSE(s.next(t0 + 9s, never_busy).has_value());
    auto p = s.next(t0 + 10s, never_busy);
    REQUIRE(p.has_value());
    CHECK(p->group == "core");
}

TEST_CASE("most overdue first, and fair across devices") {
    PollScheduler s;
    const Clock::time_point t0{};
    s.add_device("A", {{"core", 10s, {100}}}, t0);
    s.add_device("B", {{"core", 10s, {100}}}, t0);
    // Both due at the same moment: A first (added first), then B, then A again...
    std::vector<std::string> served;
    Clock::time_point now = t0;
    for (int i = 0; i < 6; ++i) {
        auto p = s.next(now, never_busy);
        REQUIRE(p.has_value());
        served.push_back(p->device);
        s.polled(p->device, p->group, now);
        if (i % 2 == 1) now += 10s;
    }
    CHECK(served == std::vector<std::string>{"A", "B", "A", "B", "A", "B"});
}

TEST_CASE("a busy device is skipped; the other one is served") {
    PollScheduler s;
    const Clock::time_point t0{};
    s.add_device("A", {{"core", 10s, {100}}}, t0);
    s.add_device("B", {{"core", 10s, {100}}}, t0);
    auto p = s.next(t0, [](const std::string& d) { return d == "A"; });
    REQUIRE(p.has_value());
    CHECK(p->device == "B");
    CHECK_FALSE(s.next(t0, [](const std::string&) { return true; }).has_value());
}

TEST_CASE("a group refreshed by pushes is not polled again until its interval passes") {
    PollScheduler s;
    const Clock::time_point t0{};
    s.add_device("A", {{"core", 10s, {100, 1300}}}, t0);
    auto p = s.next(t0, never_busy);
    s.polled("A", "core", t0);
    // Pushes of both blocks at 8 s: the poll due at 10 s moves to 18 s.
    s.pushed("A", 100, t0 + 8s);
    s.pushed("A", 1300, t0 + 8s);
    CHECK_FALSE(s.next(t0 + 10s, never_busy).has_value());
    CHECK(s.next_due() == t0 + 18s);
    // Only one block pushed: no effect.
    PollScheduler s2;
    s2.add_device("A", {{"core", 10s, {100, 1300}}}, t0);
    (void)s2.next(t0, never_busy);
    s2.polled("A", "core", t0);
    s2.pushed("A", 100, t0 + 8s);
    CHECK(s2.next(t0 + 10s, never_busy).has_value());
}

TEST_CASE("request_now brings a group forward; update_intervals keeps the last run") {
    PollScheduler s;
    const Clock::time_point t0{};
    s.add_device("A", groups(), t0);
    while (auto p = s.next(t0, never_busy)) s.polled(p->device, p->group, t0);
    s.request_now("A", "settings", t0 + 1s);
    auto p = s.next(t0 + 1s, never_busy);
    REQUIRE(p.has_value());
    CHECK(p->group == "settings");
    s.polled("A", "settings", t0 + 1s);
    s.update_intervals("A", {{"core", 20s, {100, 1300}}});
    CHECK_FALSE(s.next(t0 + 10s, never_busy).has_value());
    CHECK(s.next(t0 + 20s, never_busy).has_value());
}
