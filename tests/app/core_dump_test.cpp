// The daemon turns core dumps off for itself (they would hold the password, the token and the
// client key): checked in a child process, so the test binary keeps its own settings.
#include <doctest/doctest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.hpp"

TEST_CASE("disable_core_dumps: not dumpable, core size limit 0") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const auto r = bluetti::app::disable_core_dumps();
        rlimit core{};
        ::getrlimit(RLIMIT_CORE, &core);
        const bool ok = r.ok() && ::prctl(PR_GET_DUMPABLE) == 0 && core.rlim_cur == 0 && core.rlim_max == 0;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
