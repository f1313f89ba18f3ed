// Whether two decodes of the same block agree: the test a confirmation read must pass before a
// reply whose origin is uncertain (another cloud client was reading) is believed. Two reads a
// second apart of a live station differ a little (powers move, counters tick); a frame of another
// block decoded as this one differs in kind. Pure function; no I/O.
#pragma once

#include "bluetti/schema/value.hpp"

namespace bluetti::schema {

// True when both have the same fields present and every present value agrees: texts, booleans
// and enum labels equal; numbers within max(2 steps of the field's precision, 10 % of the larger
// magnitude), so a counter that ticked or a power that moved a little still agrees.
bool values_agree(const DecodedBlock& a, const DecodedBlock& b);

}  // namespace bluetti::schema
