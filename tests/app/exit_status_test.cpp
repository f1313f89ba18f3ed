// bluetti-bridge's main(): whatever escapes it besides the event loop (start-up, destructors) is
// logged and becomes exit status 70, never std::terminate and its core dump.
#include "app/exit_status.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

#include "log_capture.hpp"

using namespace bluetti;

TEST_CASE("bluetti-bridge's main: an exception outside the loop becomes exit status 70, logged") {
    test::LogCapture log("app");
    CHECK(app::run_guarded([] { return 0; }) == 0);
    CHECK(app::run_guarded([] { return 2; }) == 2);
    CHECK(app::run_guarded([]() -> int { throw std::runtime_error("filesystem error: cannot rename"); }) == app::kExitSoftware);
    CHECK(app::run_guarded([]() -> int { throw 7; }) == 70);
    const auto critical = log.at_level(spdlog::level::critical);
    REQUIRE(critical.size() == 2);
    CHECK(critical[0].find("filesystem error: cannot rename") != std::string::npos);
}
