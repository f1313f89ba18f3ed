// Who a simulated device is: the --device MODEL:SN[:SUBSN] argument, resolved against the device
// profiles into the identity the cloud shows (device record, topics, block 100 serial). Also the
// small argument parsers the simulator's command line needs (HOST:PORT, EMAIL:PASSWORD).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bluetti/host_port.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/result.hpp"
#include "sim/answer_style.hpp"

namespace bluetti::sim {

// As written on the command line.
struct DeviceSpec {
    std::string profile;  // profile name: EL30V2, EL100V2, ELITE200V2, AP300, GENERIC_V2
    std::string sn;
    std::string sub_sn;  // empty: derived from sn
};

// "MODEL:SN" or "MODEL:SN:SUBSN". An explicit SUBSN must be a decimal serial (no leading zero,
// not 0, fits 64 bits) because block 100 carries it as a number.
Result<DeviceSpec, std::string> parse_device_spec(std::string_view text);

// The default sub-serial: the serial itself when it is a decimal serial, else a deterministic
// 13-digit number derived from it (FNV-1a 64 mod 9·10^12 + 10^12: never a leading zero).
std::string derive_sub_sn(std::string_view sn);

// True for a decimal serial block 100 can carry: digits only, no leading zero, 1 … 2^64−1.
bool is_decimal_serial(std::string_view text);

struct DeviceIdentity {
    std::string profile;     // profile name
    std::string sn;          // device record `sn`, `name`
    std::string sub_sn;      // device record `subSn`, topic suffix, block 100 serial
    std::string model_code;  // device record `model` and topic model: the profile's cloud_model, else its name
    int packs = 1;           // battery packs: the AP300 carries one B300 expansion (slave 51)
    AnswerStyle style;       // how its firmware answers (the Elite 200 V2: as the live unit does)

    std::string request_topic() const { return "SUB/" + model_code + "/" + sub_sn; }  // the device listens here
    std::string reply_topic() const { return "PUB/" + model_code + "/" + sub_sn; }    // and answers here
};

Result<DeviceIdentity, std::string> resolve_device(const DeviceSpec& spec, const profile::ProfileSet& profiles);

// --broker HOST:PORT (bluetti::parse_host_port with a port required), or why not.
Result<HostPort, std::string> parse_broker(std::string_view text);

struct Account {
    std::string email;
    std::string password;
};
// "EMAIL:PASSWORD", split at the first colon (the password may contain colons).
Result<Account, std::string> parse_account(std::string_view text);

}  // namespace bluetti::sim
