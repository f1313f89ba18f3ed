// The messages one logger area logs while a LogCapture lives (unit tests that check a log line).
#pragma once

#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "bluetti/log.hpp"

namespace bluetti::test {

struct LogCapture {
    std::shared_ptr<spdlog::logger> logger;
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    spdlog::level::level_enum level;
    explicit LogCapture(const std::string& area) : logger(log::get(area)), level(logger->level()) {
        logger->set_level(spdlog::level::info);
        logger->sinks().push_back(sink);
    }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    ~LogCapture() {
        auto& sinks = logger->sinks();
        sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
        logger->set_level(level);
    }
    std::vector<std::string> at_level(spdlog::level::level_enum wanted) const {
        std::vector<std::string> out;
        for (const auto& m : sink->last_raw())
            if (m.level == wanted) out.emplace_back(m.payload.data(), m.payload.size());
        return out;
    }
};

}  // namespace bluetti::test
