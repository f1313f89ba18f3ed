// CounterGuard: a total_increasing counter publishes a reading only when the device's power could
// have produced it since the last one; a bigger rise or any fall is held until 3 consistent reads
// confirm it. Published values and their read times survive a restart in a 0600 JSON file written
// atomically; held readings never reach it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>

#include "bluetti/ha/counter_guard.hpp"
#include "bluetti/log.hpp"
#include "log_capture.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace bluetti;
namespace fs = std::filesystem;
using Clock = ha::CounterGuard::Clock;

namespace {

using test::TempDir;

// 2024-06-01: a fixed wall time, so the tests never depend on the machine's clock.
const Clock::time_point kT0{std::chrono::seconds(1'717'200'000)};

Clock::time_point at(std::int64_t seconds) {
    return kT0 + std::chrono::seconds(seconds);
}

std::int64_t unix_ms(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// With 2 kW rated power a kWh counter may rise 3 kWh an hour (1.5 × margin), 0.05 kWh a minute,
// plus 0.2 kWh (two steps of 0.1 kWh).
constexpr double kPower = 2000;
constexpr std::int64_t kHour = 3600;

struct Specs {
    schema::FieldSpec energy;     // kWh counter, 0.1 resolution
    schema::FieldSpec energy_wh;  // Wh counter, 1 Wh resolution
    schema::FieldSpec count;      // integer counter without an energy unit
    schema::FieldSpec power;      // measurement: never touched
    Specs() {
        energy.key = schema::make_template("pv_energy");
        energy.state_class = "total_increasing";
        energy.unit = "kWh";
        energy.scale = 0.1;
        energy.precision = 1;
        energy_wh.key = schema::make_template("ac_energy");
        energy_wh.state_class = "total_increasing";
        energy_wh.unit = "Wh";
        count.key = schema::make_template("cycles");
        count.state_class = "total_increasing";
        power.key = schema::make_template("pv_power");
        power.state_class = "measurement";
    }
};

schema::DecodedBlock block_of(const Specs& s, schema::Value energy, schema::Value power = std::int64_t{100}) {
    schema::DecodedBlock b;
    b.fields.push_back({"pv_energy", std::move(energy), &s.energy});
    b.fields.push_back({"pv_power", std::move(power), &s.power});
    return b;
}

double energy_of(const schema::DecodedBlock& b) {
    return std::get<double>(b.fields[0].value);
}

// One reading of pv_energy at `seconds` after kT0; returns what is published.
double read(ha::CounterGuard& guard, const Specs& specs, double value, std::int64_t seconds, double max_power_w = kPower) {
    auto b = block_of(specs, value);
    guard.filter(b, max_power_w, at(seconds));
    return energy_of(b);
}

// The same after a restart, where a held reading may be left out: nullopt when it was.
std::optional<double> read_after_restart(ha::CounterGuard& guard, const Specs& specs, double value, std::int64_t seconds) {
    auto b = block_of(specs, value);
    guard.filter(b, kPower, at(seconds));
    if (schema::is_absent(b.fields[0].value)) return std::nullopt;
    return energy_of(b);
}

nlohmann::json file_json(const fs::path& file) {
    std::ifstream in(file);
    return nlohmann::json::parse(in);
}

nlohmann::json entry(double value, Clock::time_point t) {
    return {{"value", value}, {"at_unix_ms", unix_ms(t)}};
}

void set_modified(const fs::path& file, Clock::time_point t) {
    const timespec times[2] = {{Clock::to_time_t(t), 0}, {Clock::to_time_t(t), 0}};
    REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
}

// The "ha" logger's messages while it lives.
struct LogCapture : test::LogCapture {
    LogCapture() : test::LogCapture("ha") {}
};

}  // namespace

TEST_CASE("CounterGuard: sequences of reads and what gets published") {
    struct Step {
        std::int64_t seconds;  // after kT0
        double read;
        double published;
        std::size_t held = 0;
        std::size_t accepted = 0;
    };
    struct Case {
        const char* name;
        std::vector<Step> steps;
    };
    const double spike = 1'000'100.0;  // 10^6 kWh too much
    const Case cases[] = {
        {"rises within the power bound pass", {{0, 100.0, 100.0}, {60, 100.2, 100.2}, {120, 100.2, 100.2}, {180, 100.4, 100.4}}},
        {"a rise one step over the bound is held", {{0, 100.0, 100.0}, {60, 100.3, 100.0, 1}}},
        {"a 10^6 kWh spike is held, normal reads go on",
         {{0, 100.0, 100.0}, {60, spike, 100.0, 1}, {120, 100.1, 100.1}, {180, 100.2, 100.2}}},
        {"alternating wrong and right frames never accept the wrong level",
         {{0, 100.0, 100.0},
          {60, spike, 100.0, 1},
          {120, 100.1, 100.1},
          {180, spike, 100.1, 1},
          {240, 100.1, 100.1},
          {300, spike, 100.1, 1},
          {360, 100.2, 100.2},
          {420, spike, 100.2, 1}}},
        {"the wrong level twice, then a right frame: the streak starts over",
         {{0, 100.0, 100.0}, {60, spike, 100.0, 1}, {120, spike, 100.0, 1}, {180, 100.1, 100.1}, {240, spike, 100.1, 1}}},
        {"a level that jumped is accepted on its third consistent read",
         {{0, 100.0, 100.0}, {60, 500.0, 100.0, 1}, {120, 500.1, 100.0, 1}, {180, 500.1, 500.1, 0, 1}, {240, 500.2, 500.2}}},
        {"a level rising too fast between its own reads starts over",
         {{0, 100.0, 100.0}, {60, 500.0, 100.0, 1}, {120, 600.0, 100.0, 1}, {180, 600.0, 100.0, 1}, {240, 600.0, 600.0, 0, 1}}},
        {"one glitch below is held, the next good read goes on", {{0, 100.0, 100.0}, {60, 50.0, 100.0, 1}, {120, 100.1, 100.1}}},
        {"a drop to 0 is a reset on the third read",
         {{0, 100.0, 100.0}, {60, 0.0, 100.0, 1}, {120, 0.0, 100.0, 1}, {180, 0.0, 0.0, 0, 1}, {240, 0.1, 0.1}}},
        {"a reset counter may count on while it is confirmed",
         {{0, 100.0, 100.0}, {60, 0.0, 100.0, 1}, {120, 0.1, 100.0, 1}, {180, 0.2, 0.2, 0, 1}}},
        {"a lower value inside a reset streak starts it over",
         {{0, 100.0, 100.0}, {60, 80.0, 100.0, 1}, {120, 70.0, 100.0, 1}, {180, 70.0, 100.0, 1}, {240, 70.0, 70.0, 0, 1}}},
        {"a spike inside a reset streak starts it over",
         {{0, 100.0, 100.0},
          {60, 0.0, 100.0, 1},
          {120, 0.0, 100.0, 1},
          {180, spike, 100.0, 1},
          {240, 0.0, 100.0, 1},
          {300, 0.0, 100.0, 1},
          {360, 0.0, 0.0, 0, 1}}},
        {"an equal read clears the pending drop",
         {{0, 100.0, 100.0},
          {60, 50.0, 100.0, 1},
          {120, 100.0, 100.0},
          {180, 50.0, 100.0, 1},
          {240, 50.0, 100.0, 1},
          {300, 50.0, 50.0, 0, 1}}},
        {"after 3 hours away a rise the power allows passes", {{0, 100.0, 100.0}, {3 * kHour, 108.0, 108.0}}},
        {"after 3 hours away a bigger rise is held, then confirmed",
         {{0, 100.0, 100.0}, {3 * kHour, 110.0, 100.0, 1}, {3 * kHour + 60, 110.0, 100.0, 1}, {3 * kHour + 120, 110.1, 110.1, 0, 1}}},
        {"time runs from the last read that showed the published value",
         {{0, 100.0, 100.0}, {2 * kHour, 100.0, 100.0}, {2 * kHour + 60, 106.0, 100.0, 1}}},
        {"a clock that went back allows only the slack", {{0, 100.0, 100.0}, {-kHour, 100.2, 100.2}, {-kHour, 100.5, 100.2, 1}}},
    };
    const Specs specs;
    for (const Case& c : cases) {
        CAPTURE(c.name);
        ha::CounterGuard guard("SN");
        int n = 0;
        for (const Step& s : c.steps) {
            CAPTURE(++n);
            auto block = block_of(specs, s.read, std::int64_t{50 - n});  // power falls every time: never held
            const auto verdict = guard.filter(block, kPower, at(s.seconds));
            CHECK(energy_of(block) == doctest::Approx(s.published));
            CHECK(verdict.held == s.held);
            CHECK(verdict.accepted == s.accepted);
            CHECK(std::get<std::int64_t>(block.fields[1].value) == 50 - n);
        }
    }
}

TEST_CASE("CounterGuard: the device's power sets the bound") {
    struct Case {
        const char* name;
        double max_power_w;
        double read;  // 60 s after 100.0
        double published;
    };
    const Case cases[] = {
        {"2 kW: 0.05 kWh a minute + 0.2 slack, 0.3 is too much", 2000, 100.3, 100.0},
        {"20 kW: 0.5 kWh a minute + 0.2 slack, 0.6 passes", 20'000, 100.6, 100.6},
        {"20 kW: 0.8 is too much", 20'000, 100.8, 100.0},
        {"unknown (0): 10 kW default, 0.25 + 0.2, 0.4 passes", 0, 100.4, 100.4},
        {"unknown (0): 0.5 is too much", 0, 100.5, 100.0},
        {"negative counts as unknown", -5, 100.4, 100.4},
    };
    const Specs specs;
    for (const Case& c : cases) {
        CAPTURE(c.name);
        ha::CounterGuard guard("SN");
        read(guard, specs, 100.0, 0, c.max_power_w);
        CHECK(read(guard, specs, c.read, 60, c.max_power_w) == doctest::Approx(c.published));
    }
}

TEST_CASE("CounterGuard: the bound follows the counter's unit and resolution") {
    const Specs specs;
    struct Case {
        const char* name;
        const schema::FieldSpec* spec;
        std::int64_t read;  // 60 s after 1000 at 2 kW
        std::int64_t published;
    };
    const Case cases[] = {
        {"Wh: 50 Wh a minute + 2 Wh slack", &specs.energy_wh, 1052, 1052},
        {"Wh: one more is too much", &specs.energy_wh, 1053, 1000},
        {"no energy unit: no rise bound", &specs.count, 1'000'000, 1'000'000},
        {"no energy unit: a fall is still held", &specs.count, 3, 1000},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        ha::CounterGuard guard("SN");
        schema::DecodedBlock b;
        b.fields.push_back({"counter", std::int64_t{1000}, c.spec});
        guard.filter(b, kPower, at(0));
        b.fields[0].value = c.read;
        guard.filter(b, kPower, at(60));
        CHECK(std::get<std::int64_t>(b.fields[0].value) == c.published);
    }
}

TEST_CASE("CounterGuard: integers stay integers, absent and text values are left alone, serials are separate") {
    const Specs specs;
    ha::CounterGuard guard("SN");
    schema::DecodedBlock b;
    b.fields.push_back({"cycles", std::int64_t{40}, &specs.count});
    guard.filter(b, kPower, at(0));
    b.fields[0].value = std::int64_t{3};
    CHECK(guard.filter(b, kPower, at(60)).held == 1);
    CHECK(std::get<std::int64_t>(b.fields[0].value) == 40);

    b.fields[0].value = schema::Value{};  // absent: stays absent, nothing remembered
    CHECK(guard.filter(b, kPower, at(120)).held == 0);
    CHECK(schema::is_absent(b.fields[0].value));

    b.fields[0].value = std::int64_t{5};  // another station's counter starts fresh
    ha::CounterGuard other("SN2");
    CHECK(other.filter(b, kPower, at(180)).held == 0);
    CHECK(std::get<std::int64_t>(b.fields[0].value) == 5);
}

TEST_CASE("CounterGuard: one info line per run of held reads, a warning when a level is accepted") {
    const Specs specs;
    ha::CounterGuard guard("SN");
    read(guard, specs, 168.7, 0);
    {
        LogCapture log;
        read(guard, specs, 188'685'931.2, 60);  // the wrong frame seen in the field
        read(guard, specs, 188'685'931.2, 120);
        read(guard, specs, 168.8, 180);
        CHECK(log.at_level(spdlog::level::info).size() == 1);
        CHECK(log.at_level(spdlog::level::warn).empty());
    }
    {
        LogCapture log;
        read(guard, specs, 0.0, 240);
        read(guard, specs, 0.0, 300);
        read(guard, specs, 0.0, 360);
        read(guard, specs, 5.0, 420);
        read(guard, specs, 5.0, 480);
        read(guard, specs, 5.0, 540);
        CHECK(log.at_level(spdlog::level::info).size() == 2);
        const auto warnings = log.at_level(spdlog::level::warn);
        REQUIRE(warnings.size() == 2);
        CHECK(warnings[0] == "SN/pv_energy: counter reset: 168.8 -> 0 on 3 consistent reads in a row; accepting it");
        CHECK(warnings[1] == "SN/pv_energy: counter jump: 0 -> 5 on 3 consistent reads in a row; accepting it");
    }
}

TEST_CASE("CounterGuard: a held spike never reaches the file") {
    TempDir dir;
    const fs::path file = dir.path / "counters.json";
    const Specs specs;
    ha::CounterStore store(file);
    ha::CounterGuard guard(store, "SN");
    read(guard, specs, 168.7, 0);
    store.save();
    CHECK(file_json(file) == nlohmann::json{{"SN/pv_energy", entry(168.7, at(0))}});

    CHECK(read(guard, specs, 188'685'931.2, 60) == doctest::Approx(168.7));
    store.save();
    CHECK(file_json(file) == nlohmann::json{{"SN/pv_energy", entry(168.7, at(0))}});

    CHECK(read(guard, specs, 188'685'931.2, 120) == doctest::Approx(168.7));  // twice is not enough either
    CHECK(read(guard, specs, 168.8, 180) == doctest::Approx(168.8));
    store.save();
    CHECK(file_json(file) == nlohmann::json{{"SN/pv_energy", entry(168.8, at(180))}});
}

TEST_CASE("CounterGuard: published values persist across instances") {
    TempDir dir;
    const fs::path file = dir.path / "state" / "counters.json";  // the directory is created on save
    const Specs specs;
    {
        ha::CounterStore store(file);
        ha::CounterGuard guard(store, "SN");
        read(guard, specs, 1234.5, 0);
        store.save();
    }
    REQUIRE(fs::exists(file));
    CHECK_FALSE(fs::exists(file.string() + ".tmp"));
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(file_json(file) == nlohmann::json{{"SN/pv_energy", entry(1234.5, at(0))}});
    {
        // After a restart a lower first read is a glitch, not a reset; it is left out rather than
        // answered with the stored value, which may lag behind the last one published.
        ha::CounterStore store(file);
        ha::CounterGuard guard(store, "SN");
        CHECK_FALSE(read_after_restart(guard, specs, 0.0, 60));
        CHECK_FALSE(read_after_restart(guard, specs, 0.0, 120));
        store.save();
        CHECK(file_json(file) == nlohmann::json{{"SN/pv_energy", entry(1234.5, at(0))}});
        CHECK(read(guard, specs, 0.0, 180) == doctest::Approx(0.0));
        store.save();
    }
    {
        ha::CounterStore store(file);
        ha::CounterGuard guard(store, "SN");
        CHECK(read(guard, specs, 0.1, 240) == doctest::Approx(0.1));
    }
}

TEST_CASE("CounterGuard: after a restart the time since the stored read counts") {
    TempDir dir;
    const fs::path file = dir.path / "counters.json";
    const Specs specs;
    {
        ha::CounterStore store(file);
        ha::CounterGuard guard(store, "SN");
        read(guard, specs, 100.0, 0);
        store.save();
    }
    ha::CounterStore two_hours_later_store(file);
    ha::CounterGuard two_hours_later(two_hours_later_store, "SN");  // 6 kWh + slack allowed
    CHECK(read(two_hours_later, specs, 105.0, 2 * kHour) == doctest::Approx(105.0));
    ha::CounterStore a_minute_later_store(file);
    ha::CounterGuard a_minute_later(a_minute_later_store, "SN");
    CHECK_FALSE(read_after_restart(a_minute_later, specs, 105.0, 60));  // held, and the stored value is not published
    CHECK(read_after_restart(a_minute_later, specs, 100.2, 60) == 100.2);
    CHECK(read(a_minute_later, specs, 105.0, 120) == doctest::Approx(100.2));  // once read in this run: held at the last value
}

TEST_CASE("CounterGuard: a file of the old format counts from its modification time") {
    TempDir dir;
    const fs::path file = dir.path / "counters.json";
    const Specs specs;
    std::ofstream(file) << R"({"SN/pv_energy": 100.0, "SN/ac_energy": {"value": 7000}})";  // the second: a value without a time
    set_modified(file, at(0));

    ha::CounterStore two_hours_later_store(file);
    ha::CounterGuard two_hours_later(two_hours_later_store, "SN");
    CHECK(read(two_hours_later, specs, 105.0, 2 * kHour) == doctest::Approx(105.0));
    ha::CounterStore a_minute_later_store(file);
    ha::CounterGuard a_minute_later(a_minute_later_store, "SN");
    CHECK_FALSE(read_after_restart(a_minute_later, specs, 105.0, 60));
    CHECK(read(a_minute_later, specs, 100.2, 60) == doctest::Approx(100.2));

    schema::DecodedBlock b;
    b.fields.push_back({"ac_energy", std::int64_t{7100}, &specs.energy_wh});  // 100 Wh a minute later: too much at 2 kW
    a_minute_later.filter(b, kPower, at(60));
    CHECK(schema::is_absent(b.fields[0].value));

    a_minute_later_store.save();  // rewritten in the new format
    CHECK(file_json(file) == nlohmann::json{{"SN/pv_energy", entry(100.2, at(60))}, {"SN/ac_energy", entry(7000, at(0))}});
}

TEST_CASE("CounterGuard: save() writes only when a published value changed") {
    TempDir dir;
    const fs::path file = dir.path / "counters.json";
    const Specs specs;
    ha::CounterStore store(file);
    ha::CounterGuard guard(store, "SN");
    store.save();
    CHECK_FALSE(fs::exists(file));  // nothing yet
    read(guard, specs, 10.0, 0);
    store.save();
    REQUIRE(fs::exists(file));
    fs::remove(file);
    read(guard, specs, 10.0, 60);
    store.save();
    CHECK_FALSE(fs::exists(file));  // unchanged: not rewritten
    read(guard, specs, 5.0, 120);
    read(guard, specs, 50.0, 180);
    store.save();
    CHECK_FALSE(fs::exists(file));  // held reads change nothing published
}

TEST_CASE("CounterGuard: a broken or foreign file is ignored without a crash") {
    struct Case {
        const char* name;
        std::string text;
    };
    const Case cases[] = {
        {"not JSON", "{\"SN/pv_energy\": 12"},
        {"empty", ""},
        {"an array", "[1, 2, 3]"},
        {"wrong value types", "{\"SN/pv_energy\": \"lots\", \"SN/other\": null}"},
        {"an entry without a value", "{\"SN/pv_energy\": {\"at_unix_ms\": 5}}"},
        {"an entry with a text value", "{\"SN/pv_energy\": {\"value\": \"lots\", \"at_unix_ms\": 5}}"},
        {"binary", std::string("\x00\xff\x10", 3)},
    };
    const Specs specs;
    for (const Case& c : cases) {
        CAPTURE(c.name);
        TempDir dir;
        const fs::path file = dir.path / "counters.json";
        std::ofstream(file, std::ios::binary) << c.text;
        ha::CounterStore store(file);
        ha::CounterGuard guard(store, "SN");
        auto b = block_of(specs, 7.5);
        CHECK(guard.filter(b, kPower, at(0)).held == 0);  // first value published as is
        CHECK(energy_of(b) == doctest::Approx(7.5));
        store.save();  // and the file is replaced by a good one
        CHECK(file_json(file) == nlohmann::json{{"SN/pv_energy", entry(7.5, at(0))}});
    }
    ha::CounterStore missing_store(fs::path("/nonexistent-dir-for-bluetti-test/counters.json"));
    ha::CounterGuard missing(missing_store, "SN");
    auto b = block_of(specs, 1.0);
    CHECK(missing.filter(b, kPower, at(0)).held == 0);
}

TEST_CASE("CounterGuard: a restart with an older file never publishes below the last published value") {
    // The last run published 100.5 ten minutes after its last save of 100.0, then crashed; the
    // broker kept 100.5 retained.
    TempDir dir;
    const fs::path file = dir.path / "counters.json";
    const Specs specs;
    {
        ha::CounterStore store(file);
        ha::CounterGuard guard(store, "SN");
        read(guard, specs, 100.0, 0);
        store.save();
        CHECK(read(guard, specs, 100.5, 600) == doctest::Approx(100.5));  // published, not saved
    }
    SUBCASE("with the retained state: the higher value is the starting point") {
        ha::CounterStore store(file);
        ha::CounterGuard guard(store, "SN");
        store.restore_published("SN", "pv_energy", 100.5);
        store.restore_published("SN", "pv_power", 350);  // not a counter: never used
        // A wrong frame between the file's and the broker's value fits the file's bound, not the broker's.
        CHECK_FALSE(read_after_restart(guard, specs, 100.3, 700));
        CHECK(read_after_restart(guard, specs, 100.6, 760) == 100.6);
        store.save();
        CHECK(file_json(file)["SN/pv_energy"]["value"] == 100.6);
    }
    SUBCASE("a lower retained value changes nothing") {
        ha::CounterStore store(file);
        ha::CounterGuard guard(store, "SN");
        store.restore_published("SN", "pv_energy", 99.0);
        CHECK(read_after_restart(guard, specs, 100.3, 700) == 100.3);  // the file's value and time hold
    }
    SUBCASE("without a file: the retained value is the starting point of a counter seen the first time") {
        fs::remove(file);
        ha::CounterStore store(file);
        ha::CounterGuard guard(store, "SN");
        store.restore_published("SN", "pv_energy", 100.5);
        CHECK_FALSE(read_after_restart(guard, specs, 40.0, 700));  // before: published as a first sight
        CHECK(read_after_restart(guard, specs, 100.5, 760) == 100.5);
    }
    SUBCASE("a real reset is still accepted after 3 consistent reads") {
        ha::CounterStore store(file);
        ha::CounterGuard guard(store, "SN");
        store.restore_published("SN", "pv_energy", 100.5);
        CHECK_FALSE(read_after_restart(guard, specs, 0.0, 700));
        CHECK_FALSE(read_after_restart(guard, specs, 0.0, 760));
        CHECK(read_after_restart(guard, specs, 0.0, 820) == 0.0);
    }
}

TEST_CASE("CounterStore: a guard's counters go back to the store when it goes, and every device's are saved") {
    TempDir dir;
    const fs::path file = dir.path / "counters.json";
    const Specs specs;
    ha::CounterStore store(file);
    {
        ha::CounterGuard first(store, "SN");
        read(first, specs, 100.0, 0);
    }
    ha::CounterGuard other(store, "SN2");
    auto b = block_of(specs, 7.5);
    other.filter(b, kPower, at(0));
    store.save();
    CHECK(file_json(file) == nlohmann::json{{"SN/pv_energy", entry(100.0, at(0))}, {"SN2/pv_energy", entry(7.5, at(0))}});
    // The station made again (a reload) carries on: a fall is held at the value read in this run,
    // not published as a first sight.
    ha::CounterGuard again(store, "SN");
    CHECK(read(again, specs, 50.0, 60) == doctest::Approx(100.0));
    CHECK(read(again, specs, 100.1, 120) == doctest::Approx(100.1));
}

TEST_CASE("CounterStore: retained values that arrive before a device's guard are handed to it") {
    const Specs specs;
    ha::CounterStore store;
    store.restore_published("SN", "pv_energy", 100.5);
    store.restore_published("SN2", "pv_energy", 3.0);
    ha::CounterGuard guard(store, "SN");
    CHECK_FALSE(read_after_restart(guard, specs, 40.0, 700));  // without the retained value: published as a first sight
    CHECK(read_after_restart(guard, specs, 100.5, 760) == 100.5);
}

TEST_CASE("CounterStore: the file keeps its format, byte for byte") {
    TempDir dir;
    const fs::path file = dir.path / "counters.json";
    const std::string before =
        "{\n \"SN/pv_energy\": {\n  \"at_unix_ms\": 1717200000000,\n  \"value\": 100.0\n },\n"
        " \"SN2/pv_energy\": {\n  \"at_unix_ms\": 1717200000000,\n  \"value\": 7.5\n }\n}\n";
    std::ofstream(file) << before;
    const Specs specs;
    ha::CounterStore store(file);
    ha::CounterGuard guard(store, "SN");
    read(guard, specs, 100.1, 60);
    store.save();
    std::ifstream in(file);
    const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(after ==
          "{\n \"SN/pv_energy\": {\n  \"at_unix_ms\": 1717200060000,\n  \"value\": 100.1\n },\n"
          " \"SN2/pv_energy\": {\n  \"at_unix_ms\": 1717200000000,\n  \"value\": 7.5\n }\n}\n");
}
