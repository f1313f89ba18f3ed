// Fuzz entry point: arbitrary text -> parse_config (the daemon's YAML file); a config that parses is
// turned into the CLI's options the way `bluetti-cli --config` does. The environment is a fixed,
// non-empty map so the process environment never leaks in; files the text names (password_file)
// are read as the daemon would read them. Nothing here may crash, hang, leak or hit undefined
// behaviour, and every rejection must carry a file:line:column position.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config.hpp"
#include "config_command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    static const bluetti::app::ConfigEnvironment environment{{{"BLUETTI_FUZZ", "1"}}};
    const std::string_view text(reinterpret_cast<const char*>(bytes), size);
    auto config = bluetti::app::parse_config(text, "fuzz.yaml", environment);
    if (!config) {
        // Every error line names the file; an error without a position is a bug worth a crash.
        if (config.error().rfind("fuzz.yaml:", 0) != 0) std::abort();
        return 0;
    }
    (void)config->homeassistant.port();
    bluetti::app::GlobalOptions options;
    bluetti::app::apply_config(*config, options);
    for (const auto& device : config->devices) {
        options.sn = device.serial;
        bluetti::app::apply_config(*config, options);
    }
    return 0;
}
