// ProfileSet::load_directory (profile_dirs, --profile-dir): profiles in the built-in format loaded
// after the built-in ones; a built-in model is replaced (and the replacement logged), any other
// clash is an error, and every error names file:line:column.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "app/profile_dirs.hpp"
#include "bluetti/profile/profile.hpp"
#include "log_capture.hpp"
#include "temp_dir.hpp"

using namespace bluetti;
namespace fs = std::filesystem;

namespace {

using test::TempDir;
profile::ProfileSet builtin() {
    auto set = profile::ProfileSet::builtin();
    REQUIRE_MESSAGE(set.ok(), set.error().message);
    return std::move(*set);
}

// A minimal valid profile file.
std::string profile_text(const std::string& model, const std::string& aliases = "[]", double max_power = 1000) {
    std::string text = "model: " + model + "\nname: Test\naliases: " + aliases + "\nenvelope: v2\nslave: 1\nmax_power: ";
    text += std::to_string(max_power);
    text += "\ngroups:\n  - {name: core, interval: 10s, blocks: [{block: 100}]}\n";
    return text;
}

}  // namespace

TEST_CASE("profile directories: a new model joins the built-in ones, found by its model and aliases") {
    auto set = builtin();
    const std::size_t before = set.all().size();
    std::vector<std::string> replaced;
    const auto error = set.load_directory(std::string(BLUETTI_TEST_DATA) + "/profiles.d", &replaced);
    REQUIRE_MESSAGE(!error, error->message);
    CHECK(replaced.empty());
    CHECK(set.all().size() == before + 1);
    const profile::Profile* p = set.find("TESTV2");
    REQUIRE(p != nullptr);
    CHECK(p->display_name == "Test Station V2");
    CHECK(p->source == std::string(BLUETTI_TEST_DATA) + "/profiles.d/test_station.yaml");
    CHECK(p->overrides.count("grid_frequency") == 1);
    CHECK(set.find("test station v2") == p);
    CHECK(set.find("EL100V2")->display_name == "Elite 100 V2");  // the built-in ones stay
}

TEST_CASE("profile directories: a built-in model is replaced, and the replacement is logged at info level") {
    TempDir dir;
    const std::string file = dir.write("elite100.yaml", profile_text("EL100V2", "[Elite 100 V2, PR100V2]", 2000));
    dir.write("notes.txt", "not a profile: only *.yaml and *.yml files are read");
    auto set = builtin();
    const std::size_t before = set.all().size();

    test::LogCapture log("config");
    const auto error = app::load_profile_dirs(set, {dir.path.string()});
    REQUIRE_MESSAGE(!error, error->message);
    CHECK(set.all().size() == before);
    const profile::Profile* p = set.find("EL100V2");
    REQUIRE(p != nullptr);
    CHECK(p->max_power == 2000);
    CHECK(p->source == file);
    CHECK(set.find("Elite 100 V2") == p);      // the new file's alias
    CHECK(set.find("ELITE100V2") == nullptr);  // the built-in file's other aliases went with it
    CHECK(log.at_level(spdlog::level::info) == std::vector<std::string>{"profile EL100V2 from " + file + " replaces the built-in one"});
}

TEST_CASE("profile directories: errors name file:line:column") {
    TempDir dir;
    auto set = builtin();
    SUBCASE("a bad file") {
        const std::string file = dir.write("bad.yaml", profile_text("MINE") + "colour: red\n");
        const auto error = set.load_directory(dir.path);
        REQUIRE(error);
        CHECK_MESSAGE(error->message.find(file + ":9:1: unknown key 'colour'") == 0, error->message);
    }
    SUBCASE("a model twice among the directory's files") {
        dir.write("a.yaml", profile_text("MINE"));
        const std::string b = dir.write("b.yaml", profile_text("mine"));
        const auto error = set.load_directory(dir.path);
        REQUIRE(error);
        CHECK(error->message == b + ":1:8: profile mine is defined twice (also in " + (dir.path / "a.yaml").string() + ")");
    }
    SUBCASE("a built-in profile's alias") {
        const std::string file = dir.write("mine.yaml", profile_text("MINE", "[Mine, Apex 300]"));
        const auto error = set.load_directory(dir.path);
        REQUIRE(error);
        CHECK(error->message == file + ":3:17: alias 'Apex 300' is already used by profile AP300");
    }
    SUBCASE("a directory that is not there") {
        const auto error = set.load_directory(dir.path / "nope");
        REQUIRE(error);
        CHECK(error->message.find((dir.path / "nope").string() + ": cannot read profile directory: ") == 0);
    }
}
