// Reading the bridge's own log (run with -v): when each station's block was taken. A state is
// published only when it changed, so the log, not the local broker, says how often a block was
// really refreshed.
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace bluetti::systest {

// Seconds since the epoch of a bridge log line "2026-12-02 04:24:16.370 debug [bridge] …" or
// "[2026-12-02 04:24:16.370] [bridge] [debug] …" (local time, as logged).
inline std::optional<double> log_time(const std::string& line) {
    std::tm tm{};
    int ms = 0;
    const char* text = line.c_str() + (line.rfind('[', 0) == 0 ? 1 : 0);  // "[2026-…] [bridge] [debug]" too
    if (std::sscanf(text, "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    return static_cast<double>(std::mktime(&tm)) + ms / 1000.0;
}

// serial -> the longest time between two takes of `block` ("<serial>: block <block> (read|pushed)"),
// in seconds, from the first take on.
inline std::map<std::string, double> longest_block_gaps(const std::string& log, int block) {
    std::map<std::string, double> last, longest;
    const std::string marker = ": block " + std::to_string(block) + " (";
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
        const auto at = line.find(marker);
        if (at == std::string::npos) continue;
        const auto start = line.rfind(' ', at) + 1;
        const std::string serial = line.substr(start, at - start);
        const auto t = log_time(line);
        if (!t) continue;
        if (auto it = last.find(serial); it != last.end()) longest[serial] = std::max(longest[serial], *t - it->second);
        last[serial] = *t;
        longest.emplace(serial, 0.0);
    }
    return longest;
}

}  // namespace bluetti::systest
