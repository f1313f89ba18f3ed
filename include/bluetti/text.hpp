// Untrusted text (MQTT payloads and topics, config text, anything a peer sends) on its way to a
// log line or a JSON document: nlohmann::json::dump throws on invalid UTF-8, and a payload of
// megabytes must not become a log line of megabytes. Every such string passes through here first.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bluetti::text {

// How many bytes of an untrusted text a log line or a diagnostics value shows.
inline constexpr std::size_t kEchoBytes = 64;

// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF) — what nlohmann::json accepts.
bool valid_utf8(std::string_view s);

// The byte offset of the first byte that does not begin a well-formed UTF-8 sequence, or
// std::string_view::npos when the whole text is well-formed.
std::size_t invalid_utf8_at(std::string_view s);

// A printable, bounded echo of untrusted bytes, always valid UTF-8: printable ASCII and well-formed
// UTF-8 characters as they are, a backslash as "\\", every other byte (control characters, DEL,
// C1 controls, bytes of malformed sequences) as "\xNN". At most `max_bytes` of the input are
// shown; a longer input ends in "…(N bytes)" with its full size.
std::string echo(std::string_view untrusted, std::size_t max_bytes = kEchoBytes);

}  // namespace bluetti::text
