// `bluetti-cli decode`: hex in, JSON (or a table) out, no network. Also the packaging smoke test
// and the fuzz target's offline twin (docs/style.md #16).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/result.hpp"

namespace bluetti::app {

struct DecodeRequest {
    std::string model = "GENERIC_V2";
    std::optional<int> block;  // required for FC 03 replies and bare data
    std::string hex;
    bool data_only = false;    // hex is bare register data
    bool table = false;        // human table instead of JSON
    int pack = 1;              // {n} of per-pack blocks
    std::optional<int> slave;  // reported slave for bare data (default: the profile's)
    std::vector<std::string> schema_dirs;
    std::vector<std::string> profile_dirs;  // loaded after the built-in profiles
};

// Why a request cannot be decoded; every one is bad input (exit 2).
enum class DecodeErrc {
    bad_data,        // the built-in data, a --schema-dir or a --profile-dir does not load
    unknown_model,   // no profile of that name
    bad_hex,         // not hex
    bad_payload,     // no envelope or RTU frame with a valid CRC
    bad_frame,       // the RTU frame does not parse (length, CRC)
    not_a_reply,     // a read request
    block_mismatch,  // a pushed block other than --block
    block_required,  // an FC 03 reply or bare data without --block
    unknown_block,   // no schema for the block
    bad_block_data,  // the block's schema refuses the data (odd or too short)
};
std::string_view to_string(DecodeErrc code);

struct DecodeError {
    DecodeErrc code;
    std::string message;  // one line, without the "bluetti-cli decode: " prefix
};

struct DecodeOutput {
    std::string text;     // what stdout shows, final newline included
    std::string warning;  // a value outside its plausible range, for stderr; empty when none
};

// The decode of `request`: JSON or a table, or a reply that holds no block data (an exception, a
// write echo) as JSON.
Result<DecodeOutput, DecodeError> decode_hex(const DecodeRequest& request);

// Returns the exit code: 0 decoded (a value outside its plausible range adds a warning line on
// `err`, never a change on `out`), 2 bad input (one line on `err`).
int run_decode(const DecodeRequest& request, std::ostream& out, std::ostream& err);

}  // namespace bluetti::app
