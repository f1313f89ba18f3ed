// EventLoop's before-poll hooks: a hook's owner can remove it at any time, even from inside a hook.
// Its timers: cancelled ones never run, whenever they are cancelled (before, from another timer
// due in the same pass, after they ran), and cancelling one never touches another. A callback that
// throws stops the loop with the exception logged and run() returning false: nothing escapes it.
#include "bluetti/event_loop.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "log_capture.hpp"

using namespace bluetti;
using namespace std::chrono_literals;

TEST_CASE("event loop: hooks run before every pass until removed, also when removed from inside a hook") {
    EventLoop loop;
    int a = 0, b = 0, c = 0;
    EventLoop::HookId hb = 0;
    const auto ha = loop.before_poll([&] {
        ++a;
        if (a == 2) loop.remove_hook(hb);  // removes another hook during the sweep
    });
    hb = loop.before_poll([&] { ++b; });
    auto self = std::make_shared<EventLoop::HookId>(0);
    *self = loop.before_poll([&, self] {
        ++c;
        loop.remove_hook(*self);  // removes itself while it runs
    });
    loop.run_once(0ms);
    CHECK(a == 1);
    CHECK(b == 1);
    CHECK(c == 1);
    loop.run_once(0ms);
    CHECK(a == 2);
    CHECK(b == 1);  // removed before its turn in this pass
    CHECK(c == 1);
    loop.remove_hook(ha);
    loop.run_once(0ms);
    CHECK(a == 2);
}

TEST_CASE("event loop: a cancelled timer never runs, and cancelling touches only that timer") {
    EventLoop loop;
    std::vector<int> ran;
    const auto past = EventLoop::Clock::now() - 1s;
    EventLoop::TimerId second = 0;
    const auto first = loop.at(past, [&] {
        ran.push_back(1);
        loop.cancel(second);  // due in the same pass, not run yet
    });
    second = loop.at(past + 1ms, [&] { ran.push_back(2); });
    const auto third = loop.at(past + 2ms, [&] { ran.push_back(3); });
    const auto fourth = loop.at(past + 2ms, [&] { ran.push_back(4); });  // same time as the third
    const auto later = loop.after(1h, [&] { ran.push_back(5); });
    loop.cancel(third);
    loop.run_once(0ms);
    CHECK(ran == std::vector<int>{1, 4});
    loop.cancel(first);  // already ran: nothing happens
    loop.cancel(fourth);
    loop.cancel(12345);  // never existed
    loop.cancel(later);
    loop.run_once(0ms);
    CHECK(ran == std::vector<int>{1, 4});
    bool fired = false;
    loop.after(0ms, [&] { fired = true; });
    loop.run_once(0ms);
    CHECK(fired);
}

TEST_CASE("event loop: an exception from any callback stops run() with false, logged with what and where") {
    test::LogCapture log("loop");
    EventLoop loop;
    std::vector<int> ran;
    SUBCASE("a timer throwing a std::exception; the timer due after it never runs") {
        const auto past = EventLoop::Clock::now() - 1s;
        loop.at(past, [&] { throw std::runtime_error("invalid UTF-8 byte at index 1"); });
        loop.at(past + 1ms, [&] { ran.push_back(2); });
        CHECK_FALSE(loop.run());
        CHECK(ran.empty());
        CHECK(loop.failure() == "a timer callback: std::runtime_error: invalid UTF-8 byte at index 1");
    }
    SUBCASE("an fd callback throwing something that is no std::exception") {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        REQUIRE(::write(fds[1], "x", 1) == 1);
        loop.watch(fds[0], POLLIN, [](short) { throw 42; });
        CHECK_FALSE(loop.run());
        CHECK(loop.failure() == "the I/O callback of fd " + std::to_string(fds[0]) + ": an exception of unknown type");
        ::close(fds[0]);
        ::close(fds[1]);
    }
    SUBCASE("a before-poll hook; a nested exception names its context first") {
        loop.before_poll([] {
            try {
                throw std::out_of_range("key 'x' not found");
            } catch (...) {
                std::throw_with_nested(std::runtime_error("local MQTT session, a message on bluetti/SN/set/x"));
            }
        });
        CHECK_FALSE(loop.run());
        CHECK(loop.failure().rfind("a before-poll hook: ", 0) == 0);
        CHECK(loop.failure().find("local MQTT session, a message on bluetti/SN/set/x <- std::out_of_range: key 'x' not found") !=
              std::string::npos);
    }
    const auto errors = log.at_level(spdlog::level::err);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find(loop.failure()) != std::string::npos);
    // A failed loop stays stopped: running it again runs nothing.
    bool later = false;
    loop.after(0ms, [&] { later = true; });
    CHECK_FALSE(loop.run());
    CHECK_FALSE(later);
}

TEST_CASE("event loop: stop() makes run() return true") {
    EventLoop loop;
    loop.after(0ms, [&] { loop.stop(); });
    CHECK(loop.run());
    CHECK(loop.failure().empty());
}
