// `bluetti-cli entities` against a real mosquitto (label system): the retained discovery config of a
// station with many battery cells, published as the bridge would publish it, and the real binary
// reading it back. Checks that the list comes out in natural order (pack 2 before pack 10, cell 2
// before cell 10), which plain string order gets wrong. Exit 77 (skipped) without mosquitto.
#define DOCTEST_CONFIG_IMPLEMENT
#include <optional>
#include <utility>

#include "bluetti/ha/discovery.hpp"
#include "bluetti/schema/registry.hpp"
#include "fixture.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

constexpr int kPacks[] = {1, 2, 10};
constexpr int kCells = 12;

// (pack, cell) of a unique_id "bluetti_<serial>_battery_pack<n>_cell<i>_voltage", else nullopt.
std::optional<std::pair<int, int>> pack_cell(const std::string& unique_id, const std::string& serial) {
    const std::string head = "bluetti_" + serial + "_battery_pack";
    if (unique_id.rfind(head, 0) != 0) return std::nullopt;
    std::size_t at = head.size();
    std::size_t used = 0;
    const int pack = std::stoi(unique_id.substr(at), &used);
    at += used;
    if (unique_id.compare(at, 5, "_cell") != 0) return std::nullopt;
    at += 5;
    const int cell = std::stoi(unique_id.substr(at), &used);
    if (unique_id.substr(at + used) != "_voltage") return std::nullopt;
    return std::pair{pack, cell};
}

}  // namespace

TEST_CASE("bluetti-cli entities lists a station's entities in natural order") {
    TempDir dir("bluetti-cli-entities");
    Mosquitto broker;
    std::string error;
    REQUIRE_MESSAGE(broker.start(dir.path(), error), error);

    // The discovery config the bridge publishes for a station whose packs report 12 cells each.
    const std::string serial = "2345EB200CELLS";
    auto registry = schema::SchemaRegistry::builtin();
    REQUIRE(registry.ok());
    ha::EntityInput input;
    input.schemas = &*registry;
    input.controls = false;
    for (int pack : kPacks)
        for (int cell = 1; cell <= kCells; ++cell) {
            std::string key = "battery_pack";
            key += std::to_string(pack);
            key += "_cell";
            key += std::to_string(cell);
            key += "_voltage";
            input.present_keys.insert(std::move(key));
        }
    ha::DiscoveryOptions options;
    const ha::StationInfo station{serial, "Garage", "Elite 100 V2", "EL100V2", ""};
    const auto messages = ha::station_discovery(options, station, ha::station_entities(options, station, input));
    REQUIRE(messages.size() == 1);

    MqttTestClient publisher;
    mqtt::Options o;
    o.port = broker.port();
    o.client_id = "cli-entities-test";
    REQUIRE_MESSAGE(publisher.connect(o, kTimeout, error), error);
    REQUIRE(publisher.publish(messages[0].topic, messages[0].payload, kTimeout, 1, true));
    publisher.disconnect();

    const auto result = cli({"--json", "entities", "--local-broker", "mqtt://" + broker.address(), "--wait", "2"});
    REQUIRE_MESSAGE(result.status == 0, result.output);
    const auto lines = json_lines(result.output);
    REQUIRE_MESSAGE(lines.size() == 1, result.output);
    REQUIRE(lines[0].is_array());

    std::vector<std::pair<int, int>> listed;
    for (const auto& e : lines[0])
        if (auto pc = pack_cell(e.value("unique_id", ""), serial)) listed.push_back(*pc);
    std::vector<std::pair<int, int>> wanted;
    for (int pack : kPacks)
        for (int cell = 1; cell <= kCells; ++cell) wanted.emplace_back(pack, cell);
    std::string shown;  // pack/cell as listed, for the failure message
    for (const auto& [pack, cell] : listed) shown += std::to_string(pack) + "/" + std::to_string(cell) + " ";
    CAPTURE(shown);
    CHECK(listed == wanted);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
