// Battery packs from a NODE_INFO reply (cloud/pack_nodes.hpp), on register data built with the
// built-in NODE_INFO schema: the numbering the daemon and the SDK share.
#include <doctest/doctest.h>

#include "bluetti/cloud/pack_nodes.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "cloud/node_info_data.hpp"

using namespace bluetti;

namespace {
using test::Node;

std::vector<std::uint8_t> packs_of(const std::vector<Node>& nodes, std::uint8_t own_slave) {
    auto registry = schema::SchemaRegistry::builtin();
    REQUIRE(registry.ok());
    const schema::BlockSchema* node_info = registry->find(21000);
    REQUIRE(node_info);
    const Bytes data = test::node_info_data(*node_info, nodes);
    auto decoded = schema::decode(*node_info, data);
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
