// The daemon's state saves (SaveSchedule driving CounterStore::save, as in daemon.cpp): on a
// manual clock, counters.json is written at most once per state_save_interval and only when a
// published counter changed; save_now() (SIGTERM, SIGHUP) writes at once.
#include "app/save_schedule.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "bluetti/ha/counter_guard.hpp"
#include "manual_scheduler.hpp"
#include "temp_dir.hpp"

using namespace bluetti;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using test::TempDir;
// Every save replaces the file by a rename: a new inode is a new write.
struct WriteCounter {
    fs::path file;
    std::optional<ino_t> last;
    int writes = 0;
    void look() {
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0) return;
        if (!last || *last != st.st_ino) ++writes;
        last = st.st_ino;
    }
};

// A kWh counter read by the guard, as a station reads block 1100 every 30 s.
struct Counter {
    schema::FieldSpec spec;
    Counter() {
        spec.key = schema::make_template("pv_energy");
        spec.state_class = "total_increasing";
        spec.unit = "kWh";
        spec.scale = 0.1;
        spec.precision = 1;
    }
    void read(ha::CounterGuard& guard, double value, test::ManualScheduler& clock) {
        schema::DecodedBlock b;
        b.fields.push_back({"pv_energy", value, &spec});
        const auto wall = ha::CounterGuard::Clock::time_point(
            std::chrono::duration_cast<ha::CounterGuard::Clock::duration>(clock.now().time_since_epoch()));
        guard.filter(b, 2000, wall);
    }
};

}  // namespace

TEST_CASE("state saves: at most once per interval, only on change, at once when asked") {
    TempDir dir;
    test::ManualScheduler clock;
    ha::CounterStore store(dir.path / "counters.json");
    ha::CounterGuard guard(store, "SN");
    WriteCounter file{dir.path / "counters.json", std::nullopt, 0};
    app::SaveSchedule saves(clock, 15min, [&] { store.save(); });
    Counter counter;

    // Two hours of a counter that rises a step every 30 s: one write per 15 minutes, not per minute.
    double value = 100.0;
    for (int i = 0; i < 240; ++i) {
        counter.read(guard, value += 0.1, clock);
        clock.advance(30s);
        file.look();
    }
    CHECK(file.writes == 8);

    // An hour without a change: nothing written.
    for (int i = 0; i < 120; ++i) {
        counter.read(guard, value, clock);
        clock.advance(30s);
        file.look();
    }
    CHECK(file.writes == 8);

    // A change, then SIGTERM or SIGHUP: written at once; the next periodic save a full interval later.
    clock.advance(7min);
    counter.read(guard, value += 0.1, clock);
    saves.save_now();
    file.look();
    CHECK(file.writes == 9);
    counter.read(guard, value += 0.1, clock);
    clock.advance(14min);
    file.look();
    CHECK(file.writes == 9);
    clock.advance(1min);
    file.look();
    CHECK(file.writes == 10);
}
