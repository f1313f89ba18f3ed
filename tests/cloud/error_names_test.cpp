// The names of the SDK's error codes, as bluetti-cli prints them ({"error": "not connected"} of
// `read --json`, "network error: …" of a failed login) and as an SDK caller logs them: one fixed,
// distinct name per code, so output a script or a reader relies on does not shift, and no two
// failures read alike.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bluetti/cloud/account.hpp"
#include "bluetti/cloud/connection.hpp"
#include "bluetti/cloud/device_channel.hpp"
#include "bluetti/codec/error.hpp"

using namespace bluetti;

namespace {

template <typename Code>
void check_names(const std::vector<std::pair<Code, std::string_view>>& names) {
    std::set<std::string_view> seen;
    for (const auto& entry : names) {
        CHECK(to_string(entry.first) == entry.second);
        seen.insert(to_string(entry.first));
    }
    CHECK(seen.size() == names.size());
}

}  // namespace

TEST_CASE("error names: a device channel's failures, as bluetti-cli read prints them") {
    using cloud::ChannelErrc;
    check_names<ChannelErrc>({{ChannelErrc::timeout, "timeout"},
                              {ChannelErrc::exception, "exception"},
                              {ChannelErrc::unsupported, "unsupported"},
                              {ChannelErrc::not_connected, "not connected"},
                              {ChannelErrc::bad_request, "bad request"},
                              {ChannelErrc::implausible, "implausible"},
                              {ChannelErrc::unconfirmed, "unconfirmed"}});
}

TEST_CASE("error names: the account's and the connection's failures") {
    using cloud::AccountErrc;
    check_names<AccountErrc>({{AccountErrc::bad_credentials, "bad credentials"},
                              {AccountErrc::network, "network error"},
                              {AccountErrc::rejected, "rejected"},
                              {AccountErrc::protocol, "unexpected answer"}});
    using cloud::ConnectionErrc;
    check_names<ConnectionErrc>({{ConnectionErrc::bad_credentials, "bad_credentials"},
                                 {ConnectionErrc::account, "account"},
                                 {ConnectionErrc::certificate, "certificate"},
                                 {ConnectionErrc::broker, "broker"}});
}

TEST_CASE("error names: the frame codec's refusals") {
    using codec::Errc;
    check_names<Errc>({{Errc::truncated, "truncated"},
                       {Errc::bad_crc, "bad CRC"},
                       {Errc::wrong_function, "wrong function"},
                       {Errc::byte_count_mismatch, "byte count mismatch"},
                       {Errc::odd_length, "odd length"},
                       {Errc::too_long, "too long"},
                       {Errc::bad_argument, "bad argument"},
                       {Errc::forbidden_write, "forbidden write"}});
}
