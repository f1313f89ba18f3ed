// The battery packs of a station from its NODE_INFO reply (block 21000, docs/protocol.md §6.1): the
// DeviceLocator numbers packs this way for the daemon's Station and the SDK's Client alike, so a
// pack number means the same slave in Home Assistant and on the command line.
#pragma once

#include <cstdint>
#include <vector>

#include "bluetti/schema/value.hpp"

namespace bluetti::cloud {

// Pack 1 is the station itself (`own_slave`); packs 2… are the nodes with a model code 4000–4999
// (expansion batteries), in ascending slave order. Nodes without a slave or model code end the list.
std::vector<std::uint8_t> pack_slaves_from_nodes(const schema::DecodedBlock& node_info, std::uint8_t own_slave);

}  // namespace bluetti::cloud
