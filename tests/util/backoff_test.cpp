// The one backoff (bluetti/backoff.hpp): login, token renewal, both reconnects, certificate downloads.
#include <doctest/doctest.h>

#include "bluetti/backoff.hpp"

using bluetti::Backoff;
using bluetti::backoff_delay;
using namespace std::chrono;

TEST_CASE("backoff: doubles from the initial delay up to the cap") {
    CHECK(backoff_delay(0, seconds(30), minutes(10)) == seconds(30));
    CHECK(backoff_delay(1, seconds(30), minutes(10)) == seconds(60));
    CHECK(backoff_delay(4, seconds(30), minutes(10)) == seconds(480));
    CHECK(backoff_delay(5, seconds(30), minutes(10)) == minutes(10));
    CHECK(backoff_delay(100000, seconds(30), minutes(10)) == minutes(10));  // no overflow
    CHECK(backoff_delay(-2, seconds(30), minutes(10)) == seconds(30));
}

TEST_CASE("backoff: jitter adds at most the spread, never past the cap") {
    CHECK(backoff_delay(0, seconds(40), minutes(10), 1.0) == seconds(50));
    CHECK(backoff_delay(0, seconds(40), minutes(10), 0.5, 0.5) == seconds(50));
    CHECK(backoff_delay(0, seconds(40), minutes(10), 9.0) == seconds(50));  // clamped to 1
    CHECK(backoff_delay(4, seconds(40), minutes(10), 1.0) == minutes(10));
}

TEST_CASE("backoff: the counter of failures in a row") {
    Backoff b(seconds(1), seconds(5));
    CHECK(b.failed() == seconds(1));
    CHECK(b.failed() == seconds(2));
    CHECK(b.failed() == seconds(4));
    CHECK(b.failed() == seconds(5));
    CHECK(b.failures() == 4);
    b.succeeded();
    CHECK(b.failures() == 0);
    CHECK(b.failed() == seconds(1));
}
