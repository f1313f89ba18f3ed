// EventLoop's before-poll hooks: a hook's owner can remove it at any time, even from inside a hook.
#include "bluetti/event_loop.hpp"

#include <doctest/doctest.h>

#include <memory>

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
