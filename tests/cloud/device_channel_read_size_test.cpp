// DeviceChannel and read sizes: a device that refuses (exception 02) reads running past the end of
// a block, as the Elite 200 V2 refuses 6300 x 25 and answers 6300 x 20. The refusal shrinks the
// read; only a refusal of the block's minimum marks it unsupported.
#include <algorithm>
#include <functional>

#include "bluetti/codec/frame.hpp"
#include "channel_fixture.hpp"

using namespace bluetti;
using namespace bluetti::cloud;
using namespace std::chrono_literals;
using test::Fixture;
using test::v2_reply;

namespace {

using Got = std::optional<Result<BlockData, ChannelError>>;

constexpr std::uint8_t kSlave = 1;
constexpr std::uint16_t kBlock = 6300;
constexpr std::uint16_t kMinimum = 2;  // block 6300's min_len of 4 bytes

// Block 6300 as an Elite 200 V2 pack answers it: 12 cells, 4 NTCs, zeros up to 20 registers.
Bytes cells_data(std::uint16_t registers) {
    Bytes data(40, 0);
    data[1] = 12;
    data[3] = 4;
    for (int i = 0; i < 12; ++i) {
        data[4 + 2 * i] = 0x0C;  // 3.300 V
        data[5 + 2 * i] = 0xE4;
    }
    for (int k = 0; k < 4; ++k) data[28 + k] = 65;  // 25 °C
    data.resize(2u * registers);
    return data;
}

// The register count of a read we sent.
std::uint16_t read_size(const Bytes& payload) {
    auto unwrapped = codec::unwrap(payload);
    REQUIRE(unwrapped.ok());
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::request);
    REQUIRE(frame.ok());
    REQUIRE(frame->address == kBlock);
    return frame->quantity;
}

Bytes refusal() {
    return v2_reply(codec::build_exception(kSlave, codec::kReadHolding, 2));
}

// Answers each read the channel sends, as a device that implements `implemented` registers of the
// block, until the read ends; returns the sizes sent.
std::vector<std::uint16_t> play_device(Fixture& f, Got& got, std::uint16_t implemented) {
    std::vector<std::uint16_t> sizes;
    for (std::size_t answered = f.sent.size() - 1; !got.has_value(); ++answered) {
        REQUIRE(f.sent.size() == answered + 1);  // one read in flight, never more
        const std::uint16_t size = read_size(f.sent.back());
        sizes.push_back(size);
        REQUIRE(sizes.size() < 20);
        if (size > implemented)
            f.channel->on_payload(refusal());
        else
            f.channel->on_payload(v2_reply(*codec::build_read_reply(kSlave, cells_data(size))));
    }
    return sizes;
}

void read_cells(Fixture& f, Got& got) {
    got.reset();
    f.channel->read_block(kBlock, 25, kSlave, 1, [&](auto r) { got.emplace(std::move(r)); });
}

double cell1_voltage(const BlockData& d) {
    return std::get<double>(d.decoded.find("battery_pack1_cell1_voltage")->value);
}

}  // namespace

TEST_CASE("read size: exception 02 to a read past the block's end shrinks it to the largest size answered, for the session") {
    Fixture f;
    Got got;
    read_cells(f, got);
    const auto sizes = play_device(f, got, 20);
    REQUIRE(got->ok());
    CHECK(cell1_voltage(**got) == doctest::Approx(3.3));
    CHECK((*got)->decoded.data_length == 40);  // the largest reply, not the first one found
    CHECK(sizes.front() == 25);
    CHECK(std::count(sizes.begin(), sizes.end(), 20) == 1);  // 21 refused after it: 20 is the largest
    CHECK_FALSE(f.channel->unsupported(kBlock, kSlave));
    CHECK(f.channel->reduced_read_size(kBlock, kSlave) == std::optional<std::uint16_t>(20));

    // Later reads ask for 20 at once.
    read_cells(f, got);
    CHECK(play_device(f, got, 20) == std::vector<std::uint16_t>{20});
    REQUIRE(got->ok());
    CHECK(f.clock.pending() == 0);
}

TEST_CASE("read size: only a refusal of the block's minimum marks it unsupported") {
    Fixture f;
    Got got;
    read_cells(f, got);
    const auto sizes = play_device(f, got, 0);
    REQUIRE_FALSE(got->ok());
    CHECK(got->error().code == ChannelErrc::unsupported);
    CHECK(sizes.front() == 25);
    CHECK(sizes.back() == kMinimum);
    for (std::size_t i = 1; i < sizes.size(); ++i) CHECK(sizes[i] < sizes[i - 1]);
    CHECK(f.channel->unsupported(kBlock, kSlave));
    CHECK_FALSE(f.channel->reduced_read_size(kBlock, kSlave).has_value());
}

TEST_CASE("read size: a block whose minimum is all it has is read at the minimum") {
    Fixture f;
    Got got;
    read_cells(f, got);
    const auto sizes = play_device(f, got, kMinimum);
    REQUIRE(got->ok());
    CHECK(sizes.back() == kMinimum);
    CHECK_FALSE(f.channel->unsupported(kBlock, kSlave));
    CHECK(f.channel->reduced_read_size(kBlock, kSlave) == std::optional<std::uint16_t>(kMinimum));
}

TEST_CASE("read size, contention: a refusal of uncertain origin shrinks the read only when the same size is refused twice") {
    Fixture f;
    // Another client's reply that answers nothing of ours: contention.
    f.channel->on_payload(v2_reply(*codec::build_read_reply(kSlave, test::hex("01f4000000000000"))));
    REQUIRE(f.channel->contended());
    Got got;
    read_cells(f, got);
    REQUIRE(f.sent.size() == 1);
    f.channel->on_payload(refusal());
    REQUIRE(got.has_value());
    CHECK(got->error().code == ChannelErrc::exception);  // maybe the other client's refusal
    CHECK_FALSE(f.channel->reduced_read_size(kBlock, kSlave).has_value());
    CHECK(f.sent.size() == 1);

    // Said again to the same size: believed. Every reply found while shrinking is confirmed by a
    // second, shorter read (the device answers those too); a refusal met on the way up ends the
    // read with the largest confirmed reply, and the next read asks for the refused size again.
    for (int read = 0; read < 4 && f.channel->reduced_read_size(kBlock, kSlave) != std::optional<std::uint16_t>(20); ++read) {
        read_cells(f, got);
        play_device(f, got, 20);
        REQUIRE(got.has_value());
        if (read == 0) REQUIRE(got->ok());
    }
    CHECK(f.channel->reduced_read_size(kBlock, kSlave) == std::optional<std::uint16_t>(20));
    CHECK_FALSE(f.channel->unsupported(kBlock, kSlave));
    CHECK(f.channel->stats().confirmations > 0);
    CHECK(f.channel->stats().unconfirmed == 0);
}
