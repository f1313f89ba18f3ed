// NODE_INFO (block 21000) register data for tests, built with the built-in schema's encoder: a
// station whose sub-devices are `nodes`. Shared by the pack-numbering and the locator tests.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"

namespace bluetti::test {

struct Node {
    std::int64_t slave, model_code;
};

// The register data of a NODE_INFO reply listing `nodes` (serials made up, one per node).
inline Bytes node_info_data(const schema::BlockSchema& node_info, const std::vector<Node>& nodes) {
    schema::ValueMap values{{"node_info_version", std::int64_t{1}}, {"node_count", static_cast<std::int64_t>(nodes.size())}};
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const std::string n = "node" + std::to_string(i + 1) + "_";
        values[n + "slave"] = nodes[i].slave;
        values[n + "model_code"] = nodes[i].model_code;
        values[n + "serial"] = std::to_string(2616113487436 + i);
    }
    auto data = schema::encode(node_info, values, static_cast<std::size_t>(2 + 8 * nodes.size()));
    REQUIRE_MESSAGE(data.ok(), data.error().message);
    return *data;
}

}  // namespace bluetti::test
