#include "bluetti/cloud/pack_nodes.hpp"

#include <algorithm>
#include <string>
#include <variant>

namespace bluetti::cloud {

std::vector<std::uint8_t> pack_slaves_from_nodes(const schema::DecodedBlock& node_info, std::uint8_t own_slave) {
    std::vector<std::uint8_t> slaves{own_slave};
    for (int i = 1; i <= 15; ++i) {
        const auto* code = node_info.find("node" + std::to_string(i) + "_model_code");
        const auto* slave = node_info.find("node" + std::to_string(i) + "_slave");
        if (!code || !slave) break;
        const auto* c = std::get_if<std::int64_t>(&code->value);
        const auto* s = std::get_if<std::int64_t>(&slave->value);
        if (c && s && *c >= 4000 && *c <= 4999 && *s != own_slave) slaves.push_back(static_cast<std::uint8_t>(*s));
    }
    std::sort(slaves.begin() + 1, slaves.end());  // pack 1 stays first
    return slaves;
}

}  // namespace bluetti::cloud
