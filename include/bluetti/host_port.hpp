// "host:port" as the configuration, the device records (iotSrvIp) and the command lines give a
// broker: one parser for all of them. IPv6 addresses are written in brackets, "[::1]:1883".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bluetti {

struct HostPort {
    std::string host;  // without the brackets of an IPv6 address
    int port = 0;
};

// "host", "host:port", "[v6]" or "[v6]:port". Without a port, `default_port` (> 0), else none.
// A host with '/', '@', '?', '#' or a stray bracket (a URL, not an address), an empty host, or a
// port outside 1–65535 is no address.
std::optional<HostPort> parse_host_port(std::string_view text, int default_port = 0);

}  // namespace bluetti
