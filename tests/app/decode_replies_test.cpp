// `bluetti-cli decode` on the frames that hold no block data (a write's echo and acknowledgement),
// on a --schema-dir that does not load, and the names of its refusals.
#include <set>
#include <sstream>

#include "bluetti/codec/crc.hpp"
#include "decode_command.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace bluetti;

namespace {

// `rtu` (without CRC) as hex with its CRC appended: a bare RTU frame as decode takes it.
std::string with_crc(Bytes rtu) {
    codec::append_crc(rtu);
    return to_hex(rtu);
}

nlohmann::json decoded_json(const app::DecodeRequest& request) {
    const auto decoded = app::decode_hex(request);
    REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);
    CHECK(decoded->warning.empty());
    return nlohmann::json::parse(decoded->text);
}

}  // namespace

TEST_CASE("decode shows a write's echo (FC 06) and acknowledgement (FC 16) as JSON, not as block data") {
    app::DecodeRequest r;
    r.model = "EL100V2";
    r.block = 2000;  // a write reply says nothing about a block, --block or not
    r.hex = with_crc({0x01, 0x06, 0x0B, 0xC3, 0x00, 0x01});
    CHECK(decoded_json(r) == nlohmann::json{{"slave", 1}, {"function", 6}, {"register", 3011}, {"value", 1}});

    r.hex = with_crc({0x01, 0x10, 0x0B, 0xB8, 0x00, 0x02});
    CHECK(decoded_json(r) == nlohmann::json{{"slave", 1}, {"function", 16}, {"register", 3000}, {"quantity", 2}});

    // The acknowledgement's JSON keeps the order a reader expects: slave, function, register, quantity.
    std::ostringstream out, err;
    CHECK(app::run_decode(r, out, err) == 0);
    CHECK(out.str() == "{\"slave\":1,\"function\":16,\"register\":3000,\"quantity\":2}\n");
    CHECK(err.str().empty());
}

TEST_CASE("decode: a --schema-dir that does not load is bad data, named by its file") {
    test::TempDir dir;
    const std::string file = dir.write("broken.yaml", "block: [unclosed\n");
    app::DecodeRequest r;
    r.model = "EL100V2";
    r.block = 1300;
    r.hex = "00";
    r.schema_dirs = {dir.path.string()};
    const auto decoded = app::decode_hex(r);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code == app::DecodeErrc::bad_data);
    CHECK_MESSAGE(decoded.error().message.rfind(file, 0) == 0, decoded.error().message);

    r.schema_dirs = {dir.file("missing")};
    const auto missing = app::decode_hex(r);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == app::DecodeErrc::bad_data);
    CHECK(missing.error().message.find("cannot read schema directory") != std::string::npos);
}

TEST_CASE("decode: every refusal has its own name, spelled as its code") {
    const std::pair<app::DecodeErrc, std::string_view> names[] = {
        {app::DecodeErrc::bad_data, "bad_data"},
        {app::DecodeErrc::unknown_model, "unknown_model"},
        {app::DecodeErrc::bad_hex, "bad_hex"},
        {app::DecodeErrc::bad_payload, "bad_payload"},
        {app::DecodeErrc::bad_frame, "bad_frame"},
        {app::DecodeErrc::not_a_reply, "not_a_reply"},
        {app::DecodeErrc::block_mismatch, "block_mismatch"},
        {app::DecodeErrc::block_required, "block_required"},
        {app::DecodeErrc::unknown_block, "unknown_block"},
        {app::DecodeErrc::bad_block_data, "bad_block_data"},
    };
    std::set<std::string_view> seen;
    for (const auto& entry : names) {
        CHECK(app::to_string(entry.first) == entry.second);
        seen.insert(app::to_string(entry.first));
    }
    CHECK(seen.size() == std::size(names));
}
