// A decoded value as JSON, as the decoder produced it (booleans stay true/false here; the Home
// Assistant state topics render them as "ON"/"OFF").
#pragma once

#include <nlohmann/json.hpp>

#include "bluetti/schema/value.hpp"

namespace bluetti::app {

inline nlohmann::ordered_json value_json(const schema::Value& value) {
    return std::visit(
        [](const auto& v) -> nlohmann::ordered_json {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>)
                return nullptr;
            else
                return v;
        },
        value);
}

}  // namespace bluetti::app
