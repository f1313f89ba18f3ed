#include "bridge/poll_scheduler.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>

using namespace bluetti::bridge;
using namespace std::chrono_literals;

namespace {
std::vector<GroupSchedule> groups() {
    return {{"core", 10s, {100, 1300}}, {"battery", 30s, {6000}}, {"settings", 60s, {2000, 2200}}};
}
const auto never_busy = [](const std::string&) { return false; };
// A reply delay of 0-900 ms per device, from its name.
long long fnv_ms(const std::string& name) {
    return static_cast<long long>(std::hash<std::string>{}(name) % 900);
}
// "D<n>", appended: g++ 12 at -O3 reports a false -Wrestrict inside `"D" + std::to_string(n)`.
std::string device_name(std::size_t n) {
    std::string name = "D";
    name += std::to_string(n);
    return name;
}
}  // namespace

TEST_CASE("every group is due at start, in profile order, then at its interval") {
    PollScheduler s;
    const Clock::time_point t0{};
    PollSchedule a(s, "A", groups(), t0);
    std::vector<std::string> order;
    while (auto p = s.next(t0, never_busy)) {
        order.push_back(p->group);
        p->schedule->polled(p->group, t0);
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
    PollSchedule a(s, "A", {{"core", 10s, {100}}}, t0);
    PollSchedule b(s, "B", {{"core", 10s, {100}}}, t0);
    // Both due at the same moment: A first (added first), then B, then A again...
    std::vector<std::string> served;
    Clock::time_point now = t0;
    for (int i = 0; i < 6; ++i) {
        auto p = s.next(now, never_busy);
        REQUIRE(p.has_value());
        served.push_back(p->schedule->device());
        p->schedule->polled(p->group, now);
        if (i % 2 == 1) now += 10s;
    }
    CHECK(served == std::vector<std::string>{"A", "B", "A", "B", "A", "B"});
}

TEST_CASE("a busy device is skipped, the other one is served") {
    PollScheduler s;
    const Clock::time_point t0{};
    PollSchedule a(s, "A", {{"core", 10s, {100}}}, t0);
    PollSchedule b(s, "B", {{"core", 10s, {100}}}, t0);
    auto p = s.next(t0, [](const std::string& d) { return d == "A"; });
    REQUIRE(p.has_value());
    CHECK(p->schedule->device() == "B");
    CHECK_FALSE(s.next(t0, [](const std::string&) { return true; }).has_value());
}

TEST_CASE("a group refreshed by pushes is not polled again until its interval passes") {
    PollScheduler s;
    const Clock::time_point t0{};
    PollSchedule a(s, "A", {{"core", 10s, {100, 1300}}}, t0);
    auto p = s.next(t0, never_busy);
    a.polled("core", t0);
    // Pushes of both blocks at 8 s: the poll due at 10 s moves past 18 s, to the grid's 20 s.
    a.pushed(100, t0 + 8s);
    a.pushed(1300, t0 + 8s);
    CHECK_FALSE(s.next(t0 + 10s, never_busy).has_value());
    CHECK_FALSE(s.next(t0 + 18s, never_busy).has_value());
    CHECK(s.next_due() == t0 + 20s);
    // Only one block pushed: no effect.
    PollScheduler s2;
    PollSchedule a2(s2, "A", {{"core", 10s, {100, 1300}}}, t0);
    (void)s2.next(t0, never_busy);
    a2.polled("core", t0);
    a2.pushed(100, t0 + 8s);
    CHECK(s2.next(t0 + 10s, never_busy).has_value());
}

TEST_CASE("request_now brings a group forward, update_intervals keeps the last run") {
    PollScheduler s;
    const Clock::time_point t0{};
    PollSchedule a(s, "A", groups(), t0);
    while (auto p = s.next(t0, never_busy)) p->schedule->polled(p->group, t0);
    a.request_now("settings", t0 + 1s);
    auto p = s.next(t0 + 1s, never_busy);
    REQUIRE(p.has_value());
    CHECK(p->group == "settings");
    a.polled("settings", t0 + 1s);
    a.update_intervals({{"core", 20s, {100, 1300}}});
    CHECK_FALSE(s.next(t0 + 10s, never_busy).has_value());
    CHECK(s.next(t0 + 20s, never_busy).has_value());
}

TEST_CASE("a device whose poll runs is not handed out again until polled") {
    PollScheduler s;
    const Clock::time_point t0{};
    PollSchedule a(s, "A", groups(), t0);
    PollSchedule b(s, "B", {{"core", 10s, {100}}}, t0);
    auto first = s.next(t0, never_busy);
    REQUIRE(first.has_value());
    CHECK(first->schedule == &a);
    auto second = s.next(t0, never_busy);
    REQUIRE(second.has_value());
    CHECK(second->schedule == &b);  // A's battery and settings are due too, but A is running
    CHECK_FALSE(s.next(t0, never_busy).has_value());
    CHECK_FALSE(s.next_due().has_value());  // nothing can start before a poll ends
    a.polled("core", t0 + 1s);
    CHECK(s.next_due() < t0);  // A's battery, overdue
    auto third = s.next(t0 + 1s, never_busy);
    REQUIRE(third.has_value());
    CHECK(third->schedule == &a);
    CHECK(third->group == "battery");
}

// The queue against a brute-force model of the rule (the most overdue group of a device that is
// neither running nor busy; ties to the device served longest ago, then the one added first), over
// random time steps, busy devices and poll completions. Without pushes a group's due time is the
// first moment of its grid (phase 0: t0 + k × interval) at least half an interval after its last poll.
TEST_CASE("the queue hands out what a scan of every device would") {
    struct ModelDevice {
        std::vector<Clock::time_point> due;
        Clock::time_point served{};
        bool running = false;
        int group = -1;
    };
    const std::vector<GroupSchedule> plan = {{"core", 10s, {100}}, {"detail", 30s, {1300}}, {"settings", 60s, {2000}}};
    const Clock::time_point t0{};
    PollScheduler s;
    std::vector<ModelDevice> model(40);
    std::vector<std::unique_ptr<PollSchedule>> schedules;
    for (std::size_t d = 0; d < model.size(); ++d) {
        schedules.push_back(std::make_unique<PollSchedule>(s, device_name(d), plan, t0));
        for (std::size_t g = 0; g < plan.size(); ++g) model[d].due.push_back(t0 - 3ms + std::chrono::milliseconds(g));
    }
    std::uint32_t random = 12345;
    auto next_random = [&random] { return random = random * 1664525u + 1013904223u; };
    Clock::time_point now = t0;
    int handed_out = 0;
    for (int step = 0; step < 2000; ++step) {
        now += std::chrono::milliseconds(next_random() % 3000);
        // Finish some running polls.
        for (std::size_t d = 0; d < model.size(); ++d) {
            if (!model[d].running || next_random() % 3 != 0) continue;
            schedules[d]->polled(plan[static_cast<std::size_t>(model[d].group)].name, now);
            const auto interval = std::chrono::duration_cast<Clock::duration>(plan[static_cast<std::size_t>(model[d].group)].interval);
            const auto steps = (now + interval / 2 - t0 + interval - Clock::duration(1)) / interval;
            model[d].due[static_cast<std::size_t>(model[d].group)] = t0 + steps * interval;
            model[d].running = false;
        }
        std::vector<bool> busy(model.size());
        for (std::size_t d = 0; d < model.size(); ++d) busy[d] = next_random() % 7 == 0;
        auto is_busy = [&busy](const std::string& name) { return busy[std::stoul(name.substr(1))]; };
        for (;;) {
            std::optional<std::pair<std::size_t, std::size_t>> best;
            for (std::size_t d = 0; d < model.size(); ++d) {
                if (model[d].running || busy[d]) continue;
                for (std::size_t g = 0; g < plan.size(); ++g) {
                    if (model[d].due[g] > now) continue;
                    if (!best) {
                        best = {d, g};
                        continue;
                    }
                    const auto& b = model[best->first];
                    const auto bd = b.due[best->second];
                    if (model[d].due[g] < bd || (model[d].due[g] == bd && model[d].served < b.served)) best = {d, g};
                }
            }
            const auto got = s.next(now, is_busy);
            REQUIRE(got.has_value() == best.has_value());
            if (!got) break;
            CHECK(got->schedule->device() == device_name(best->first));
            CHECK(got->group == plan[best->second].name);
            model[best->first].running = true;
            model[best->first].served = now;
            model[best->first].group = static_cast<int>(best->second);
            ++handed_out;
        }
        std::optional<Clock::time_point> earliest;
        for (const auto& m : model)
            if (!m.running)
                for (const auto& due : m.due)
                    if (!earliest || due < *earliest) earliest = due;
        CHECK(s.next_due() == earliest);
    }
    CHECK(handed_out > 1000);
}

// Issue: every device's core poll fell due in the same second, so replies queued behind each other.
TEST_CASE("phases spread devices over the interval, a late poll, a retry or a push keeps a device's place") {
    PollScheduler s;
    const Clock::time_point t0{};
    const std::vector<GroupSchedule> core = {{"core", 10s, {100}}};
    std::vector<std::string> names;
    for (int d = 0; d < 50; ++d) {
        std::string serial = "24";  // appended: see device_name()
        serial += std::to_string(1000000 + d * 7919);
        names.push_back(std::move(serial));
    }
    std::vector<std::unique_ptr<PollSchedule>> schedules;
    for (const auto& name : names) schedules.push_back(std::make_unique<PollSchedule>(s, name, core, t0, PollScheduler::phase_of(name)));
    // The first polls run at once; the next ones fall due at each device's own place.
    while (auto p = s.next(t0, never_busy)) p->schedule->polled(p->group, t0);
    // Each device's next two polls (the first falls due 5-15 s after start, on its grid).
    std::map<std::string, std::vector<Clock::time_point>> due;
    Clock::time_point now = t0;
    const auto all_seen_twice = [&] {
        return due.size() == names.size() && std::all_of(due.begin(), due.end(), [](const auto& d) { return d.second.size() >= 2; });
    };
    while (!all_seen_twice()) {
        now += 10ms;
        while (auto p = s.next(now, never_busy)) {
            due[p->schedule->device()].push_back(now);
            // Replies come late (up to 900 ms) and some polls fail and are retried later: neither moves
            // the device's next place.
            p->schedule->polled(p->group, now + std::chrono::milliseconds(fnv_ms(p->schedule->device())));
        }
    }
    // Spread: no 1-second window of the 10-second interval holds more than a quarter of the devices.
    std::map<long long, int> per_second;
    for (const auto& d : due) ++per_second[std::chrono::duration_cast<std::chrono::seconds>(d.second.front() - t0).count() % 10];
    for (const auto& second : per_second) CHECK(second.second <= 12);
    // Each device polls on its own grid, exactly one interval apart, whatever its reply time.
    for (const auto& name : names) {
        CAPTURE(name);
        const auto phase = std::chrono::duration_cast<Clock::duration>(10s * PollScheduler::phase_of(name));
        const auto first = due.at(name)[0], second = due.at(name)[1];
        CHECK(first >= t0 + 5s);
        CHECK((first - t0 - phase) % Clock::duration(10s) < Clock::duration(10ms));
        CHECK(second - first > 9990ms);
        CHECK(second - first < 10010ms);
    }
    // Pushes of every device's block at the same moment do not bunch them: each keeps its place.
    for (const auto& schedule : schedules) schedule->pushed(100, now);
    const Clock::time_point pushed_at = now;
    std::map<std::string, Clock::time_point> after;
    while (after.size() < names.size()) {
        now += 10ms;
        while (auto p = s.next(now, never_busy)) {
            after.emplace(p->schedule->device(), now);
            p->schedule->polled(p->group, now);
        }
    }
    for (const auto& name : names) {
        CAPTURE(name);
        const auto phase = std::chrono::duration_cast<Clock::duration>(10s * PollScheduler::phase_of(name));
        CHECK(after.at(name) >= pushed_at + 10s);
        CHECK((after.at(name) - t0 - phase) % Clock::duration(10s) < Clock::duration(10ms));
    }
    CHECK(PollScheduler::phase_of("2416113487436") == PollScheduler::phase_of("2416113487436"));
    CHECK(PollScheduler::phase_of("2416113487436") != PollScheduler::phase_of("2416113487437"));
}

TEST_CASE("a schedule leaves the queue when it is destroyed, running or not") {
    PollScheduler s;
    const Clock::time_point t0{};
    auto a = std::make_unique<PollSchedule>(s, "A", std::vector<GroupSchedule>{{"core", 10s, {100}}}, t0);
    auto b = std::make_unique<PollSchedule>(s, "B", std::vector<GroupSchedule>{{"core", 10s, {100}}}, t0 + 5s);
    CHECK(s.next_due() == t0 - 1ms);
    a.reset();
    CHECK(s.next_due() == t0 + 5s - 1ms);
    CHECK_FALSE(s.next(t0 + 1s, never_busy).has_value());
    auto p = s.next(t0 + 5s, never_busy);
    REQUIRE(p.has_value());
    CHECK(p->schedule == b.get());
    b.reset();  // while its poll runs
    PollSchedule c(s, "C", {{"core", 10s, {100}}}, t0 + 6s);
    auto q = s.next(t0 + 6s, never_busy);
    REQUIRE(q.has_value());
    CHECK(q->schedule == &c);
    CHECK_FALSE(s.next(t0 + 60s, never_busy).has_value());
}
