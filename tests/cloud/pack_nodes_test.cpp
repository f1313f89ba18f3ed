// Battery packs from a NODE_INFO reply (cloud/pack_nodes.hpp), on register data built with the
// built-in NODE_INFO schema: the numbering the daemon and the SDK share.
#include <doctest/doctest.h>

#include "bluetti/cloud/pack_nodes.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"

using namespace bluetti;

namespace {
struct Node {
    std::int64_t slave, model_code;
};

std::vector<std::uint8_t> packs_of(const std::vector<Node>& nodes, std::uint8_t own_slave) {
    auto registry = schema::SchemaRegistry::builtin();
    REQUIRE(registry.ok());
    const schema::BlockSchema* node_info = registry->find(21000);
    REQUIRE(node_info);
    schema::ValueMap values{{"node_info_version", std::int64_t{1}}, {"node_count", static_cast<std::int64_t>(nodes.size())}};
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const std::string n = "node" + std::to_string(i + 1) + "_";
        values[n + "slave"] = nodes[i].slave;
        values[n + "model_code"] = nodes[i].model_code;
        values[n + "serial"] = std::to_string(2616113487436 + i);
    }
    const auto registers = static_cast<std::size_t>(2 + 8 * nodes.size());
    auto data = schema::encode(*node_info, values, registers);
    REQUIRE_MESSAGE(data.ok(), data.error().message);
    auto decoded = schema::decode(*node_info, *data);
    REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);
    return cloud::pack_slaves_from_nodes(*decoded, own_slave);
}
}  // namespace

TEST_CASE("pack 1 is the station, then the expansion packs (model codes 4000-4999) by ascending slave") {
    CHECK(packs_of({{0, 6}, {51, 4005}}, 0) == std::vector<std::uint8_t>{0, 51});
    CHECK(packs_of({{0, 6}, {52, 4005}, {3, 3007}, {51, 4001}, {9, 5000}}, 0) == std::vector<std::uint8_t>{0, 51, 52});
}

TEST_CASE("a station without expansion packs, or whose list names only itself, has one pack") {
    CHECK(packs_of({{0, 6}}, 0) == std::vector<std::uint8_t>{0});
    CHECK(packs_of({{1, 4005}}, 1) == std::vector<std::uint8_t>{1});  // its own slave is never a second pack
    CHECK(packs_of({}, 0) == std::vector<std::uint8_t>{0});
}
