// AnswersLog (bluetti-sim --answers-log FILE): one JSON line per block a simulated station
// answered or pushed, to whichever client asked, decoded the way the bridge publishes it:
//   {"sn": "<serial>", "topic": "<state topic>", "state": {<the block's state JSON>}}
// Tests and benches compare every value the bridge published with these: a value the device never
// answered for that key is a wrong value (another client's reply taken for the bridge's own).
// Only reads that start at a block's first register are logged (the bridge reads nothing else).
#pragma once

#include <fstream>
#include <string>

#include "bluetti/hex.hpp"
#include "sim/device.hpp"

namespace bluetti::sim {

class AnswersLog {
public:
    bool open(const std::string& path, std::string& error);
    bool enabled() const { return out_.is_open(); }
    // A request the device got and the reply it sends (envelopes included).
    void answered(SimDevice& device, ByteSpan request, ByteSpan reply);
    // An unsolicited FC 16 push.
    void pushed(SimDevice& device, ByteSpan push);

private:
    std::ofstream out_;
    void write(const SimDevice& device, std::uint16_t block, std::uint8_t slave, ByteSpan data);
};

}  // namespace bluetti::sim
