#include "bluetti/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>

namespace bluetti::log {

namespace {
spdlog::sink_ptr& default_sink() {
    static spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    return sink;
}
}  // namespace

std::shared_ptr<spdlog::logger> get(const std::string& area) {
    if (auto existing = spdlog::get(area)) return existing;
    auto logger = std::make_shared<spdlog::logger>(area, default_sink());
    logger->set_level(spdlog::get_level());
    spdlog::register_logger(logger);
    return logger;
}

bool set_level(const std::string& level) {
    const auto parsed = spdlog::level::from_str(level);
    if (parsed == spdlog::level::off && level != "off") return false;
    spdlog::set_level(parsed);
    spdlog::apply_all([parsed](const std::shared_ptr<spdlog::logger>& l) { l->set_level(parsed); });
    return true;
}

void init(bool journal, const std::string& level) {
    if (journal) {
        default_sink() = std::make_shared<spdlog::sinks::systemd_sink_mt>("bluetti-bridge", true);
        spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->sinks() = {default_sink()}; });
    }
    spdlog::set_pattern(journal ? "[%n] %v" : "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
    set_level(level);
}

}  // namespace bluetti::log
