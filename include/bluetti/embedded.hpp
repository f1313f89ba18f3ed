// Data files compiled into bluetti_core (config/schemas/*.yaml, config/profiles/*.yaml), so the
// programs run without an installed data directory.
#pragma once

#include <span>
#include <string_view>

namespace bluetti {

struct EmbeddedFile {
    std::string_view name;  // e.g. "schemas/block_100.yaml"
    std::string_view text;
};

std::span<const EmbeddedFile> embedded_schemas();
std::span<const EmbeddedFile> embedded_profiles();

}  // namespace bluetti
