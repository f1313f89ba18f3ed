// What the simulated station really said: bluetti-sim --answers-log writes one JSON line per
// block it answered (to any client, the bridge or the simulated app), decoded the way the bridge
// publishes it: {"sn": "...", "topic": "home_data", "state": {...}}. A value the bridge publishes
// that the device never answered for that key is a wrong value — typically another client's reply
// decoded as the wrong block. Used by the contention system test and bench_contention.
#pragma once

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace bluetti::systest {

class DeviceAnswers {
public:
    // Reads (or re-reads, as the log grows) the whole log.
    void load(const std::string& file) {
        values_.clear();
        std::ifstream in(file);
        for (std::string line; std::getline(in, line);) {
            const auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded() || !j.contains("state") || !j["state"].is_object()) continue;
            const std::string sn = j.value("sn", ""), topic = j.value("topic", "");
            for (const auto& [key, value] : j["state"].items()) values_[{sn, topic, key}].insert(value.dump());
        }
    }
    bool empty() const { return values_.empty(); }
    // Did the device ever answer `value` for this key?
    bool answered(const std::string& sn, const std::string& topic, const std::string& key, const nlohmann::json& value) const {
        const auto it = values_.find({sn, topic, key});
        return it != values_.end() && it->second.count(value.dump()) > 0;
    }

private:
    std::map<std::tuple<std::string, std::string, std::string>, std::set<std::string>> values_;
};

// An energy counter's published values in order, with the time each came: a problem when one went
// down or rose faster than `max_power_w` allows (with 0.2 kWh of slack for two steps of 0.1 kWh).
inline std::optional<std::string> counter_problem(const std::vector<std::pair<double, std::chrono::steady_clock::time_point>>& series,
                                                  double max_power_w) {
    for (std::size_t i = 1; i < series.size(); ++i) {
        const double before = series[i - 1].first, now = series[i].first;
        const double hours = std::chrono::duration<double>(series[i].second - series[i - 1].second).count() / 3600 + 0.01;
        if (now < before) return "went down: " + std::to_string(before) + " -> " + std::to_string(now);
        if (now - before > max_power_w / 1000 * hours + 0.2) return "jumped: " + std::to_string(before) + " -> " + std::to_string(now);
    }
    return std::nullopt;
}

}  // namespace bluetti::systest
