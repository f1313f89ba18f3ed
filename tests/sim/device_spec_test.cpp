// The simulator's command-line values: --device MODEL:SN[:SUBSN] and its default sub-serial,
// HOST:PORT and EMAIL:PASSWORD.
#include "sim/device_spec.hpp"
#include "sim_support.hpp"

using namespace bluetti::sim;
using namespace bluetti::sim::testing;

TEST_CASE("--device MODEL:SN[:SUBSN]") {
    auto plain = parse_device_spec("AP300:AP3002616113487436");
    REQUIRE(plain.ok());
    CHECK(plain->profile == "AP300");
    CHECK(plain->sn == "AP3002616113487436");
    CHECK(plain->sub_sn.empty());
    auto explicit_sub = parse_device_spec("EL30V2:ABC:2616113487436");
    REQUIRE(explicit_sub.ok());
    CHECK(explicit_sub->sub_sn == "2616113487436");
    for (const char* bad : {"AP300", ":SN", "AP300:", "AP300:SN:0123", "AP300:SN:12a", "AP300:SN:99999999999999999999"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_device_spec(bad).ok());
    }
}

TEST_CASE("the default sub-serial") {
    CHECK(derive_sub_sn("2616113487436") == "2616113487436");  // a decimal serial is its own
    const std::string derived = derive_sub_sn("AP3002616113487436");
    CHECK(derived.size() == 13);
    CHECK(derived.front() != '0');
    CHECK(is_decimal_serial(derived));
    CHECK(derive_sub_sn("AP3002616113487436") == derived);  // deterministic
    CHECK(derive_sub_sn("AP3002616113487437") != derived);
    CHECK(derive_sub_sn("0123").size() == 13);  // a leading zero would not survive block 100
}

TEST_CASE("a device's identity comes from its profile") {
    auto ap = resolve_device({"AP300", "AP3002616113487436", ""}, profiles());
    REQUIRE(ap.ok());
    CHECK(ap->model_code == "AP300");
    CHECK(ap->packs == 2);
    CHECK(ap->request_topic() == "SUB/AP300/" + ap->sub_sn);
    CHECK(ap->reply_topic() == "PUB/AP300/" + ap->sub_sn);
    auto elite = resolve_device({"ELITE200V2", "E200V2X", "2616113487436"}, profiles());
    REQUIRE(elite.ok());
    CHECK(elite->model_code == "ELITE200V2");  // no cloud_model in the profile: its name
    CHECK(elite->sub_sn == "2616113487436");
    CHECK(elite->packs == 1);
    auto unknown = resolve_device({"EP760", "X", ""}, profiles());
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().find("GENERIC_V2") != std::string::npos);
}

TEST_CASE("HOST:PORT and EMAIL:PASSWORD") {
    auto hp = parse_broker("127.0.0.1:8883");
    REQUIRE(hp.ok());
    CHECK(hp->host == "127.0.0.1");
    CHECK(hp->port == 8883);
    for (const char* bad : {"127.0.0.1", ":1883", "host:0", "host:65536", "host:12x"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_broker(bad).ok());
    }
    auto account = parse_account("me@example.com:pa:ss");
    REQUIRE(account.ok());
    CHECK(account->email == "me@example.com");
    CHECK(account->password == "pa:ss");
    CHECK_FALSE(parse_account("me@example.com").ok());
    CHECK_FALSE(parse_account("me@example.com:").ok());
}
