// DeviceChannel while another client reads the same station: its replies land on our reply topic
// and carry no address. Nothing that cannot be shown to be ours may be delivered.
#include "bluetti/codec/frame.hpp"
#include "channel_fixture.hpp"

using namespace bluetti;
using namespace bluetti::cloud;
using namespace std::chrono_literals;
using test::Fixture;
using test::kG1Reply;
using test::v2_reply;

namespace {

// G1's block 1300 data (16 registers at slave 1), and the same length with another phase voltage:
// plausible, the right size, and not the device's value. As another client's read of a
// neighbouring block would look.
const char* kG1Data = "01f400000000000000000000000000000000000000000000000104ac09000034";
const char* kOtherData = "01f400000000000000000000000000000000000000000000000104ac06000034";

Bytes reply(const char* data, std::uint8_t slave = 1) {
    return v2_reply(*codec::build_read_reply(slave, test::hex(data)));
}

Bytes read_request(std::uint8_t slave, std::uint16_t start, std::uint16_t count) {
    return codec::wrap(codec::Envelope::v2, start, *codec::build_read_request(slave, start, count));
}

double phase1_voltage(const BlockData& d) {
    return std::get<double>(d.decoded.find("grid_phase1_voltage")->value);
}

using Got = std::optional<Result<BlockData, ChannelError>>;

// One quiet read first: the channel learns that 1300 × 16 at slave 1 is answered with 32 bytes.
void learn(Fixture& f) {
    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_payload(test::hex(kG1Reply));
    REQUIRE(got.has_value());
    REQUIRE(got->ok());
}

}  // namespace

TEST_CASE("contention: a frame that answers nothing starts it, then a reply is only believed once a shorter read agrees") {
    Fixture f;
    learn(f);
    CHECK_FALSE(f.channel->contended());
    f.channel->on_payload(reply(kOtherData));  // another client's reply, nothing of ours in flight
    CHECK(f.channel->stats().unsolicited == 1);
    CHECK(f.channel->contended());

    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    REQUIRE(f.sent.size() == 2);
    f.channel->on_payload(reply(kOtherData));  // theirs arrives first: a candidate
    CHECK_FALSE(got.has_value());
    REQUIRE(f.sent.size() == 3);  // the confirmation: one register fewer
    CHECK(f.sent[2] == read_request(1, 1300, 15));
    f.channel->on_payload(reply(kOtherData));  // the candidate's length cannot answer the confirmation
    CHECK(f.sent.size() == 3);
    f.channel->on_payload(test::one_register_less(reply(kG1Data)));  // ours: disagrees with the candidate
    CHECK_FALSE(got.has_value());
    REQUIRE(f.sent.size() == 4);  // start over with the whole read
    CHECK(f.sent[3] == f.sent[1]);
    f.channel->on_payload(reply(kG1Data));
    CHECK(f.sent.size() == 5);
    f.channel->on_payload(test::one_register_less(reply(kG1Data)));  // agrees: the whole reply is delivered
    REQUIRE(got.has_value());
    REQUIRE(got->ok());
    CHECK(phase1_voltage(**got) == doctest::Approx(230.4));
    CHECK((*got)->decoded.data_length == 32);
    CHECK(f.channel->stats().confirmations == 3);
}

TEST_CASE("contention: our own whole reply arriving while the confirmation is out is confirmed by it") {
    Fixture f;
    learn(f);
    f.channel->on_payload(reply(kOtherData));
    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_payload(reply(kOtherData));  // theirs first: a candidate, the confirmation goes out
    f.channel->on_payload(reply(kG1Data));     // ours, a little later: a second candidate
    f.channel->on_payload(test::one_register_less(reply(kG1Data)));
    REQUIRE(got.has_value());
    REQUIRE(got->ok());
    CHECK(phase1_voltage(**got) == doctest::Approx(230.4));
    CHECK(f.sent.size() == 3);
    CHECK(f.channel->stats().confirmations == 1);
}

TEST_CASE("the first reply to a read shape is confirmed even before any other client was seen") {
    Fixture f(true);
    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_payload(reply(kOtherData));  // another client's, before anything showed it
    CHECK_FALSE(got.has_value());
    REQUIRE(f.sent.size() == 2);
    f.channel->on_payload(test::one_register_less(reply(kG1Data)));  // disagrees: start over
    f.channel->on_payload(reply(kG1Data));
    f.channel->on_payload(test::one_register_less(reply(kG1Data)));
    REQUIRE(got.has_value());
    REQUIRE(got->ok());
    CHECK(phase1_voltage(**got) == doctest::Approx(230.4));
    // Learnt: the next read of that shape is answered at once while nobody else is seen.
    got.reset();
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_payload(reply(kG1Data));
    REQUIRE(got.has_value());
    CHECK(got->ok());
}

TEST_CASE("quiet: a device that answers the confirmation read short still confirms on the fields both have") {
    Fixture f(true);
    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_payload(reply(kG1Data));  // first reply of the shape: the confirmation asks for 15 registers
    REQUIRE(f.sent.size() == 2);
    f.channel->on_payload(test::one_register_less(test::one_register_less(reply(kG1Data))));  // 14 come back
    REQUIRE(got.has_value());
    REQUIRE(got->ok());
    CHECK((*got)->decoded.data_length == 32);
}

TEST_CASE("contention: replies that never agree end the read with an error, never with a value") {
    Fixture f;
    learn(f);
    f.channel->on_payload(reply(kOtherData));
    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    for (int i = 0; i < 4 && !got; ++i) f.channel->on_payload(i % 2 ? test::one_register_less(reply(kG1Data)) : reply(kOtherData));
    REQUIRE(got.has_value());
    REQUIRE_FALSE(got->ok());
    CHECK(got->error().code == ChannelErrc::unconfirmed);
    CHECK(f.channel->stats().unconfirmed == 1);
    CHECK_FALSE(f.channel->busy());
}

TEST_CASE("contention: two frames of zeros agree with each other but confirm nothing") {
    Fixture f;
    learn(f);
    f.channel->on_payload(reply(kOtherData));
    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    const std::string zeros(64, '0');
    for (int i = 0; i < 8 && !got; ++i) f.channel->on_payload(i % 2 ? test::one_register_less(reply(zeros.c_str())) : reply(zeros.c_str()));
    REQUIRE(got.has_value());
    CHECK(got->error().code == ChannelErrc::unconfirmed);
}

TEST_CASE("contention: a reply of another length than the learnt one is not taken, even if it fits the read") {
    Fixture f;
    learn(f);
    f.channel->on_payload(reply(kOtherData));  // contention
    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_payload(reply("01f400000000000000000000000000000000000000000000000104ac0900"));  // 30 bytes
    CHECK_FALSE(got.has_value());
    CHECK(f.sent.size() == 2);  // no confirmation either: it is a stray
    CHECK(f.channel->stats().unsolicited == 2);
}

TEST_CASE("quiet: a reply of a new length is learnt only once a shorter read agrees with it") {
    Fixture f;
    learn(f);  // 32 bytes
    const char* kThirty = "01f400000000000000000000000000000000000000000000000104ac0900";
    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_payload(reply(kThirty));  // the device now answers 30 bytes (new firmware, say)
    CHECK_FALSE(got.has_value());
    REQUIRE(f.sent.size() == 3);
    CHECK(f.sent[2] == read_request(1, 1300, 14));
    f.channel->on_payload(test::one_register_less(reply(kThirty)));
    REQUIRE(got.has_value());
    REQUIRE(got->ok());
    CHECK((*got)->decoded.data_length == 30);
    CHECK(f.channel->stats().confirmations == 1);
    // Learnt: the next 30-byte reply is taken at once.
    got.reset();
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_payload(reply(kThirty));
    REQUIRE(got.has_value());
    CHECK(got->ok());
}

TEST_CASE("mirror: another client's read seen before ours is answered first, and its reply is theirs") {
    Fixture f;
    learn(f);
    f.channel->on_request_seen(read_request(1, 1200, 16));  // the app: 1200 × 16, also 32 bytes
    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_request_seen(f.sent.back());  // our own read, echoed by the broker
    CHECK(f.channel->mirror_echoing());
    CHECK(f.channel->foreign_reads() == 1);
    f.channel->on_payload(reply(kOtherData));  // the answer to the app
    CHECK_FALSE(got.has_value());
    CHECK(f.channel->stats().foreign_replies == 1);
    f.channel->on_payload(reply(kG1Data));  // ours, beyond doubt: no confirmation needed
    REQUIRE(got.has_value());
    REQUIRE(got->ok());
    CHECK(phase1_voltage(**got) == doctest::Approx(230.4));
    CHECK(f.channel->stats().confirmations == 0);
    CHECK(f.sent.size() == 2);
}

TEST_CASE("mirror: a rival read after ours that could give the same bytes still needs a confirmation") {
    Fixture f;
    learn(f);
    Got got;
    f.channel->read_block(1300, 16, 1, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_request_seen(f.sent.back());
    f.channel->on_request_seen(read_request(1, 1200, 16));
    f.channel->on_payload(reply(kG1Data));
    CHECK_FALSE(got.has_value());
    REQUIRE(f.sent.size() == 3);
    f.channel->on_request_seen(f.sent.back());  // the confirmation, after the app's read
    f.channel->on_payload(reply(kOtherData));   // the app's answer: theirs, by the order
    CHECK_FALSE(got.has_value());
    f.channel->on_payload(test::one_register_less(reply(kG1Data)));
    REQUIRE(got.has_value());
    CHECK(got->ok());
    CHECK(phase1_voltage(**got) == doctest::Approx(230.4));
}

TEST_CASE("contention: exception 02 of uncertain origin marks a block unsupported only when said twice") {
    Fixture f;
    f.channel->on_payload(reply(kOtherData));                      // contention
    const Bytes g5 = test::hex("01F80F00000000C600000083029131");  // exception 02 at slave 0
    Got got;
    // At block 2200's minimum (9 registers): a longer read is shrunk first (read size tests).
    f.channel->read_block(2200, 9, 0, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_payload(g5);
    REQUIRE(got.has_value());
    CHECK(got->error().code == ChannelErrc::exception);
    CHECK_FALSE(f.channel->unsupported(2200, 0));
    got.reset();
    f.channel->read_block(2200, 9, 0, 1, [&](auto r) { got.emplace(std::move(r)); });
    f.channel->on_payload(g5);
    REQUIRE(got.has_value());
    CHECK(got->error().code == ChannelErrc::unsupported);
    CHECK(f.channel->unsupported(2200, 0));
}
