// `bluetti-cli decode`: hex in, JSON (or a table) out, no network. Also the packaging smoke test
// and the fuzz target's offline twin (docs/style.md #16).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

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
};

// Returns the exit code: 0 decoded (a value outside its plausible range adds a warning line on
// `err`, never a change on `out`), 2 bad input (one line on `err`).
int run_decode(const DecodeRequest& request, std::ostream& out, std::ostream& err);

}  // namespace bluetti::app
