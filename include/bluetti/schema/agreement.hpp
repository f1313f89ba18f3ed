// Whether two decodes of the same block agree: the test a confirmation read must pass before a
// reply whose origin is uncertain (another cloud client was reading) is believed. Two reads a
// second apart of a live station differ a little (powers move, counters tick); a frame of another
// block decoded as this one differs in kind. Pure functions; no I/O.
#pragma once

#include "bluetti/schema/value.hpp"

namespace bluetti::schema {

// True when every field present in the shorter decode is present in the other and agrees: texts,
// booleans and enum labels equal; numbers within max(2 steps of the field's precision, 10 % of the
// larger magnitude), so a counter that ticked or a power that moved a little still agrees. The
// shorter may lack the fields of its missing registers (a confirmation read asks for one register
// fewer), never more.
bool values_agree(const DecodedBlock& a, const DecodedBlock& b);

// True when the decode says something: at least two present values that are not zero (or empty).
// Any two frames of zeros agree with each other, whatever block they came from.
bool informative(const DecodedBlock& block);

}  // namespace bluetti::schema
