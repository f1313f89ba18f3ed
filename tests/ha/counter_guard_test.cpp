// CounterGuard (ha-discovery.md §9): a total_increasing counter never goes down because of one bad
// read; a decrease confirmed by the next read is a real reset and goes through. Published values
// survive a restart in a 0600 JSON file written atomically.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "bluetti/ha/counter_guard.hpp"
#include "support.hpp"

using namespace bluetti;
namespace fs = std::filesystem;

namespace {

struct Specs {
    schema::FieldSpec energy;  // kWh counter, 0.1 resolution
    schema::FieldSpec count;   // integer counter
    schema::FieldSpec power;   // measurement: never touched
    Specs() {
        energy.key = schema::make_template("pv_energy");
        energy.state_class = "total_increasing";
        energy.precision = 1;
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

// A fresh directory under the system temp dir, removed at the end of the test.
struct TempDir {
    fs::path path;
    TempDir() {
        static std::atomic<int> counter{0};
        path = fs::temp_directory_path() / ("bluetti-counter-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

TEST_CASE("CounterGuard: sequences of reads and what gets published") {
    struct Step {
        double read;
        double published;
        std::size_t held;
        std::size_t accepted;
    };
    struct Case {
        const char* name;
        std::vector<Step> steps;
    };
    const Case cases[] = {
        {"rising values pass", {{100.0, 100.0, 0, 0}, {100.5, 100.5, 0, 0}, {100.5, 100.5, 0, 0}, {101.2, 101.2, 0, 0}}},
        {"one glitch is held, the next good read goes on", {{100.0, 100.0, 0, 0}, {50.0, 100.0, 1, 0}, {100.1, 100.1, 0, 0}}},
        {"a drop to 0 is held, a second 0 is a reset", {{100.0, 100.0, 0, 0}, {0.0, 100.0, 1, 0}, {0.0, 0.0, 0, 1}, {0.1, 0.1, 0, 0}}},
        {"confirmation may have grown by one step", {{100.0, 100.0, 0, 0}, {80.0, 100.0, 1, 0}, {80.04, 80.04, 0, 1}}},
        {"or be lower still", {{100.0, 100.0, 0, 0}, {80.0, 100.0, 1, 0}, {70.0, 70.0, 0, 1}}},
        {"a different lower value starts over", {{100.0, 100.0, 0, 0}, {80.0, 100.0, 1, 0}, {90.0, 100.0, 1, 0}, {90.0, 90.0, 0, 1}}},
        {"an equal read clears the pending drop", {{100.0, 100.0, 0, 0}, {50.0, 100.0, 1, 0}, {100.0, 100.0, 0, 0}, {50.0, 100.0, 1, 0}}},
    };
    const Specs specs;
    for (const Case& c : cases) {
        CAPTURE(c.name);
        ha::CounterGuard guard;
        int n = 0;
        for (const Step& s : c.steps) {
            CAPTURE(++n);
            auto block = block_of(specs, s.read, std::int64_t{50 - n});  // power falls every time: never held
            const auto verdict = guard.filter("SN1", block);
            CHECK(energy_of(block) == doctest::Approx(s.published));
            CHECK(verdict.held == s.held);
            CHECK(verdict.accepted == s.accepted);
            CHECK(std::get<std::int64_t>(block.fields[1].value) == 50 - n);
        }
    }
}

TEST_CASE("CounterGuard: integers stay integers, absent and text values are left alone, serials are separate") {
    const Specs specs;
    ha::CounterGuard guard;
    schema::DecodedBlock b;
    b.fields.push_back({"cycles", std::int64_t{40}, &specs.count});
    guard.filter("SN1", b);
    b.fields[0].value = std::int64_t{3};
    CHECK(guard.filter("SN1", b).held == 1);
    CHECK(std::get<std::int64_t>(b.fields[0].value) == 40);

    b.fields[0].value = schema::Value{};  // absent: stays absent, nothing remembered
    CHECK(guard.filter("SN1", b).held == 0);
    CHECK(schema::is_absent(b.fields[0].value));

    b.fields[0].value = std::int64_t{5};  // another station's counter starts fresh
    CHECK(guard.filter("SN2", b).held == 0);
    CHECK(std::get<std::int64_t>(b.fields[0].value) == 5);
}

TEST_CASE("CounterGuard: published values persist across instances") {
    TempDir dir;
    const fs::path file = dir.path / "state" / "counters.json";  // the directory is created on save
    const Specs specs;
    {
        ha::CounterGuard guard(file);
        auto b = block_of(specs, 1234.5);
        guard.filter("2345EB200XXXXXXX", b);
        guard.save();
    }
    REQUIRE(fs::exists(file));
    CHECK_FALSE(fs::exists(file.string() + ".tmp"));
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    {
        std::ifstream in(file);
        const auto doc = nlohmann::json::parse(in);
        CHECK(doc == nlohmann::json{{"2345EB200XXXXXXX/pv_energy", 1234.5}});
    }
    {
        ha::CounterGuard guard(file);  // after a restart a lower first read is a glitch, not a reset
        auto b = block_of(specs, 0.0);
        CHECK(guard.filter("2345EB200XXXXXXX", b).held == 1);
        CHECK(energy_of(b) == doctest::Approx(1234.5));
        auto again = block_of(specs, 0.0);
        CHECK(guard.filter("2345EB200XXXXXXX", again).accepted == 1);
        guard.save();
    }
    {
        ha::CounterGuard guard(file);
        auto b = block_of(specs, 0.1);
        CHECK(guard.filter("2345EB200XXXXXXX", b).held == 0);
        CHECK(energy_of(b) == doctest::Approx(0.1));
    }
}

TEST_CASE("CounterGuard: save() writes only when something changed") {
    TempDir dir;
    const fs::path file = dir.path / "counters.json";
    const Specs specs;
    ha::CounterGuard guard(file);
    guard.save();
    CHECK_FALSE(fs::exists(file));  // nothing yet
    auto b = block_of(specs, 10.0);
    guard.filter("SN", b);
    guard.save();
    REQUIRE(fs::exists(file));
    fs::remove(file);
    auto same = block_of(specs, 10.0);
    guard.filter("SN", same);
    guard.save();
    CHECK_FALSE(fs::exists(file));  // unchanged: not rewritten
    auto held = block_of(specs, 5.0);
    guard.filter("SN", held);
    guard.save();
    CHECK_FALSE(fs::exists(file));  // a held read changes nothing published
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
        {"binary", std::string("\x00\xff\x10", 3)},
    };
    const Specs specs;
    for (const Case& c : cases) {
        CAPTURE(c.name);
        TempDir dir;
        const fs::path file = dir.path / "counters.json";
        std::ofstream(file, std::ios::binary) << c.text;
        ha::CounterGuard guard(file);
        auto b = block_of(specs, 7.5);
        CHECK(guard.filter("SN", b).held == 0);  // first value published as is
        CHECK(energy_of(b) == doctest::Approx(7.5));
        guard.save();  // and the file is replaced by a good one
        std::ifstream in(file);
        CHECK(nlohmann::json::parse(in) == nlohmann::json{{"SN/pv_energy", 7.5}});
    }
    ha::CounterGuard missing(fs::path("/nonexistent-dir-for-bluetti-test/counters.json"));
    auto b = block_of(specs, 1.0);
    CHECK(missing.filter("SN", b).held == 0);
}
