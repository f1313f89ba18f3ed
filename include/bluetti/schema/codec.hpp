// Applying a block schema: decode(register data) -> values, and encode(values) -> register data
// (the simulator's direction). Pure functions over byte spans.
//
// A reply may be shorter than the block: fields past its end are absent, never zero
// (docs/protocol.md §4.5). `pack` fills the {n} placeholder of per-pack blocks (6100, 6300).
#pragma once

#include <map>
#include <string>

#include "bluetti/hex.hpp"
#include "bluetti/result.hpp"
#include "bluetti/schema/value.hpp"

namespace bluetti::schema {

struct DecodeOptions {
    int pack = 1;
};

// Rejects data shorter than the schema's min_len or of odd length; otherwise decodes every field.
struct DecodeError {
    std::string message;
};
Result<DecodedBlock, DecodeError> decode(const BlockSchema& schema, ByteSpan data, DecodeOptions options = {});

using ValueMap = std::map<std::string, Value, std::less<>>;

// Writes each present value of `values` (keyed like decode's output) into `registers` registers of
// block data. Fields sharing bytes (nibbles, flag bits) are merged. Unknown keys and absent values
// are skipped; a value that does not fit its type is an error naming the key.
Result<Bytes, DecodeError> encode(const BlockSchema& schema, const ValueMap& values, std::size_t registers, DecodeOptions options = {});

}  // namespace bluetti::schema
