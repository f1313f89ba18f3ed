// docs/entities.md holds a table of every entity the built-in schemas give, generated from the
// discovery builder itself. This test regenerates it and fails when the file is stale;
// BLUETTI_UPDATE_DOCS=1 makes it rewrite the file instead.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bluetti/codec/write_whitelist.hpp"
#include "bluetti/ha/discovery.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"

using namespace bluetti;

namespace {

constexpr std::string_view kBegin = "<!-- entities:begin -->";
constexpr std::string_view kEnd = "<!-- entities:end -->";

std::string docs_path() {
    return std::string(BLUETTI_TEST_DATA) + "/../../docs/entities.md";
}

std::string cell(const nlohmann::ordered_json& c, const char* key) {
    if (!c.contains(key)) return "";
    return c[key].is_string() ? c[key].get<std::string>() : c[key].dump();
}

std::string code(const std::string& text) {
    return text.empty() ? "" : "`" + text + "`";
}

// One table line for one entity (or one state-only row).
std::string line(const std::string& key, const std::string& name, const std::string& platform, const std::string& unit,
                 const std::string& device_class, const std::string& state_class, const std::string& block, const std::string& enabled) {
    return "| " + code(key) + " | " + name + " | " + platform + " | " + unit + " | " + device_class + " | " + state_class + " | " + block +
           " | " + enabled + " |\n";
}

std::string platform_cell(const nlohmann::ordered_json& c) {
    std::string p = c["platform"].get<std::string>();
    if (c.contains("entity_category")) p += " (" + c["entity_category"].get<std::string>() + ")";
    return p;
}

// Every placeholder bound to "1": enough for the builder to find the row again.
std::string sample_key(const schema::Template& t) {
    std::string out;
    for (std::size_t i = 0; i < t.pieces.size(); ++i) out += i % 2 ? "1" : t.pieces[i];
    return out;
}

// Every control enabled: the table shows the platform a control has where its profile enables it.
std::set<std::string> all_controls() {
    std::set<std::string> keys;
    for (const auto& w : codec::writable_registers()) keys.insert(std::string(w.key));
    return keys;
}

std::string generate_table() {
    auto registry = schema::SchemaRegistry::builtin();
    REQUIRE(registry.ok());
    const ha::DiscoveryOptions options;
    const ha::StationInfo station{"SERIAL", "Station", "Model", "MODEL", ""};
    std::string out =
        "| key | name | platform | unit | device class | state class | block | enabled by default |\n"
        "|---|---|---|---|---|---|---|---|\n";
    for (const schema::BlockSchema* b : registry->all()) {
        const std::string block = std::to_string(b->block) + " " + code(b->state_topic);
        std::vector<const schema::FieldSpec*> rows;
        for (const auto& f : b->fields) rows.push_back(&f);
        for (const auto& g : b->groups)
            for (const auto& f : g.fields) rows.push_back(&f);
        for (const auto& d : b->derived) rows.push_back(&d.field);
        for (const schema::FieldSpec* f : rows) {
            const std::string key = sample_key(f->key);
            const ha::EntityInput input{&*registry, {key}, {}, true, all_controls()};
            const auto entities = ha::station_entities(options, station, input);
            auto it = std::find_if(entities.begin(), entities.end(), [&](const ha::Entity& e) { return e.key == key; });
            if (it == entities.end()) {
                out += line(f->key.text, f->name.text, "state only", f->unit, "", "", block, "");
                continue;
            }
            const auto& c = it->component;
            const std::string enabled = c.value("enabled_by_default", true) ? "yes" : "no";
            out += line(f->key.text, f->name.text, platform_cell(c), cell(c, "unit_of_measurement"), cell(c, "device_class"),
                        cell(c, "state_class"), block, enabled);
        }
    }
    for (const ha::Entity& e : ha::station_entities(options, station, ha::EntityInput{nullptr, {}, {}, true, all_controls()})) {
        const auto& c = e.component;
        out += line(e.key, c["name"].get<std::string>(), platform_cell(c), cell(c, "unit_of_measurement"), cell(c, "device_class"),
                    cell(c, "state_class"), code("diagnostics"), "yes");
    }
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("docs/entities.md: the entity table matches the built-in schemas") {
    const std::string path = docs_path();
    const std::string doc = read_file(path);
    const auto begin = doc.find(kBegin);
    const auto end = doc.find(kEnd);
    REQUIRE_MESSAGE(begin != std::string::npos, path << " has no " << kBegin << " marker");
    REQUIRE_MESSAGE(end != std::string::npos, path << " has no " << kEnd << " marker");
    REQUIRE(begin < end);
    const std::size_t from = begin + kBegin.size();
    const std::string current = doc.substr(from, end - from);
    std::string wanted = "\n";  // appended: `"\n" + generate_table()` trips a false -Wrestrict in g++ 12 -O3
    wanted += generate_table();
    if (current == wanted) return;

    const char* update = std::getenv("BLUETTI_UPDATE_DOCS");
    if (update && std::string(update) == "1") {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << doc.substr(0, from) << wanted << doc.substr(end);
        MESSAGE("rewrote the entity table of " << path);
        return;
    }
    FAIL_CHECK(
        "docs/entities.md is out of date with the built-in schemas. Regenerate it with:\n"
        "  BLUETTI_UPDATE_DOCS=1 <build>/tests/unit_tests -tc='docs/entities.md*'\n"
        "and review the diff.");
}
