// The cloud link's reconnect delay (cloud_link.hpp): min(initial·2^k, max) × (1 + 0.25·jitter),
// the base doubled for a session conflict, everything capped at max. Jitter is fixed here.
#include <doctest/doctest.h>

#include "bluetti/cloud/cloud_link.hpp"

using bluetti::cloud::reconnect_delay;
using namespace std::chrono;

namespace {
constexpr milliseconds kInitial{45000}, kMax{600000};

long long delay(int failures, bool conflict, double jitter) {
    return reconnect_delay(failures, conflict, kInitial, kMax, jitter).count();
}
}  // namespace

TEST_CASE("reconnect delay: 45 s doubled per failure, then capped") {
    CHECK(delay(0, false, 0) == 45000);
    CHECK(delay(1, false, 0) == 90000);
    CHECK(delay(2, false, 0) == 180000);
    CHECK(delay(3, false, 0) == 360000);
    CHECK(delay(4, false, 0) == 600000);  // 720 s > the 10 min cap
    CHECK(delay(30, false, 0) == 600000);
    CHECK(delay(-1, false, 0) == 45000);  // never below the initial delay
}

TEST_CASE("reconnect delay: jitter adds up to a quarter, never past the cap") {
    CHECK(delay(0, false, 1.0) == 56250);
    CHECK(delay(0, false, 0.5) == 50625);
    CHECK(delay(3, false, 1.0) == 450000);
    CHECK(delay(4, false, 1.0) == 600000);
    // A jitter outside [0, 1] is clamped.
    CHECK(delay(0, false, 7.0) == 56250);
    CHECK(delay(0, false, -3.0) == 45000);
}

TEST_CASE("reconnect delay: a session conflict doubles the base, within the cap") {
    CHECK(delay(0, true, 0) == 90000);
    CHECK(delay(1, true, 0) == 180000);
    CHECK(delay(0, true, 1.0) == 112500);
    CHECK(delay(3, true, 0) == 600000);  // 720 s -> 10 min
    CHECK(delay(3, true, 1.0) == 600000);
}

TEST_CASE("reconnect delay: other initial delays and caps scale the same way") {
    CHECK(reconnect_delay(2, false, seconds(1), seconds(3), 0).count() == 3000);
    CHECK(reconnect_delay(1, true, milliseconds(300), seconds(60), 0.5).count() == 1350);
}
