#include "bluetti/host_port.hpp"

namespace bluetti {

std::optional<HostPort> parse_host_port(std::string_view text, int default_port) {
    HostPort out;
    std::string_view rest;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close == 1) return std::nullopt;
        out.host = std::string(text.substr(1, close - 1));
        rest = text.substr(close + 1);
    } else {
        const auto colon = text.find(':');
        out.host = std::string(text.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
    }
    if (out.host.empty() || out.host.find_first_of("/@?#[]") != std::string::npos) return std::nullopt;
    if (rest.empty()) {
        if (default_port <= 0) return std::nullopt;
        out.port = default_port;
        return out;
    }
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return std::nullopt;
    int port = 0;
    for (char c : rest.substr(1)) {
        if (c < '0' || c > '9') return std::nullopt;
        port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) return std::nullopt;
    out.port = port;
    return out;
}

}  // namespace bluetti
