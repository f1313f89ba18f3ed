#include <sstream>

#include "decode_command.hpp"
#include "support.hpp"

using namespace bluetti;

namespace {
struct Run {
    int code;
    std::string out, err;
};
Run decode(app::DecodeRequest request) {
    std::ostringstream out, err;
    const int code = app::run_decode(request, out, err);
    return {code, out.str(), err.str()};
}
}  // namespace

TEST_CASE("decode accepts a whole payload, a bare RTU frame and bare data alike") {
    const std::string payload = "01F80F00000000C0000001032001F400000000000000000000000000000000000000000000000104AC090000345174";
    const std::string rtu = payload.substr(20);
    const std::string data = rtu.substr(6, rtu.size() - 10);
    for (const auto& input : {std::pair{payload, false}, std::pair{rtu, false}, std::pair{data, true}}) {
        // Not a structured binding: CAPTURE() captures in a lambda, which clang < 16 refuses for bindings.
        const std::string& hex = input.first;
        const bool data_only = input.second;
        CAPTURE(hex);
        app::DecodeRequest r;
        r.model = "EL100V2";
        r.block = 1300;
        r.hex = hex;
        r.data_only = data_only;
        r.slave = 1;
        const Run run = decode(r);
        REQUIRE_MESSAGE(run.code == 0, run.err);
        const auto j = nlohmann::json::parse(run.out);
        CHECK(j["block"] == 1300);
        CHECK(j["name"] == "INV_GRID_INFO");
        CHECK(j["slave"] == 1);
        CHECK(j["fields"]["grid_frequency"] == 50.0);
        CHECK(j["fields"]["grid_phase1_power"] == 1196);
        CHECK(j["units"]["grid_frequency"] == "Hz");
        CHECK_FALSE(j["fields"].contains("grid_phase1_apparent_power"));  // absent: omitted
    }
}

TEST_CASE("decode: white space in the hex is ignored, pushes name their block") {
    app::DecodeRequest r;
    r.model = "AP300";
    r.hex =
        "01F80F00000000B9000000 100514001F3E 01F3000000000021000000000000000000000000000000000001035209080025035E\n"
        "000000000000000000000000000000000000000000000000000000002B07";
    const Run run = decode(r);
    REQUIRE_MESSAGE(run.code == 0, run.err);
    const auto j = nlohmann::json::parse(run.out);
    CHECK(j["block"] == 1300);
    CHECK(j["rssi"] == -71);
    CHECK(j["fields"]["grid_phase1_apparent_power"] == 862);
}

TEST_CASE("decode --table prints one line per present field") {
    app::DecodeRequest r;
    r.model = "AP300";
    r.block = 1300;
    r.data_only = true;
    r.table = true;
    r.hex = test::read_data_file("apex300/blocks/block_1300.hex");
    const Run run = decode(r);
    REQUIRE_MESSAGE(run.code == 0, run.err);
    CHECK(run.out.find("grid_import_energy") != std::string::npos);
    CHECK(run.out.find("3.3 kWh") != std::string::npos);
}

TEST_CASE("decode: bad input exits 2 with one clear line") {
    struct Row {
        const char* name;
        const char* model;
        std::optional<int> block;
        const char* hex;
        const char* says;
    };
    const Row rows[] = {
        {"bad CRC", "EL100V2", 1300, "01 03 05 14 00 10 05 1F", "CRC mismatch: frame says 0x1F05, computed 0xCE04"},
        {"not hex", "EL100V2", 1300, "01 0G", "bad hex: invalid hex character 'G'"},
        {"unknown model", "EL999", 1300, "00", "unknown model 'EL999'"},
        {"unknown block", "AP300", 4242, "01F80F00000000C0000001032001F400000000000000000000000000000000000000000000000104AC090000345174",
         "unknown block 4242"},
        {"FC 03 reply without --block", "AP300", std::nullopt,
         "01F80F00000000C0000001032001F400000000000000000000000000000000000000000000000104AC090000345174", "--block is required"},
        {"reply shorter than the block's minimum", "AP300", 1300, "00 03 04 01 F4 00 00 AA FD", "needs at least 26 bytes, got 4"},
        {"push of another block", "AP300", 100,
         "01F80F00000000B9000000100514001F3E01F3000000000021000000000000000000000000000000000001035209080025035E000000000000000000000000000"
         "000"
         "000000000000000000000000002B07",
         "pushes block 1300, not block 100"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        app::DecodeRequest r;
        r.model = row.model;
        r.block = row.block;
        r.hex = row.hex;
        const Run run = decode(r);
        CHECK(run.code == 2);
        CHECK(run.out.empty());
        CHECK_MESSAGE(run.err.find(row.says) != std::string::npos, run.err);
        CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
    }
}

TEST_CASE("decode reports an exception reply as JSON") {
    app::DecodeRequest r;
    r.model = "EL30V2";
    r.block = 2200;
    r.hex = "01F80F00000000C600000083029131";
    const Run run = decode(r);
    CHECK(run.code == 0);
    const auto j = nlohmann::json::parse(run.out);
    CHECK(j["exception"] == 2);
    CHECK(j["exception_name"] == "illegal data address");
}

TEST_CASE("decode warns on stderr about an implausible value and prints the same decode") {
    app::DecodeRequest r;
    r.model = "AP300";
    r.block = 1400;
    r.data_only = true;
    r.hex = "42743232" + std::string(48, '0');  // dc_load_power 0x32324274 = 842154612 W
    const Run run = decode(r);
    REQUIRE(run.code == 0);
    const auto j = nlohmann::json::parse(run.out);
    CHECK(j["fields"]["dc_load_power"] == 842154612);
    CHECK(run.err ==
          "bluetti-cli decode: warning: block 1400: dc_load_power = 842154612 W is outside its plausible range 0 … 12000 W for AP300"
          " (probably not this block's data)\n");

    r.table = true;  // the table says nothing new either, the warning stays on stderr
    const Run table = decode(r);
    CHECK(table.code == 0);
    CHECK(table.out.find("warning") == std::string::npos);
    CHECK(table.err == run.err);

    r.table = false;
    r.hex = "000A0000" + std::string(48, '0');  // 10 W: plausible, nothing on stderr
    CHECK(decode(r).err.empty());
}

TEST_CASE("decode_hex: each refusal is typed, so a caller can tell them apart") {
    struct Row {
        const char* name;
        const char* model;
        std::optional<int> block;
        bool data_only;
        const char* hex;
        app::DecodeErrc code;
    };
    const std::string reply = "01F80F00000000C0000001032001F400000000000000000000000000000000000000000000000104AC090000345174";
    const std::string push =
        "01F80F00000000B9000000100514001F3E01F3000000000021000000000000000000000000000000000001035209080025035E0000000000000000000000000000"
        "0"
        "0000000000000000000000000002B07";
    const Row rows[] = {
        {"unknown model", "EL999", 1300, false, "00", app::DecodeErrc::unknown_model},
        {"not hex", "EL100V2", 1300, false, "01 0G", app::DecodeErrc::bad_hex},
        {"bad CRC", "EL100V2", 1300, false, "01 03 05 14 00 10 05 1F", app::DecodeErrc::bad_payload},
        {"read request", "EL100V2", 1300, false, "01 03 00 00 00 01 84 0A", app::DecodeErrc::bad_frame},
        {"push of another block", "AP300", 100, false, push.c_str(), app::DecodeErrc::block_mismatch},
        {"reply without --block", "AP300", std::nullopt, false, reply.c_str(), app::DecodeErrc::block_required},
        {"unknown block", "AP300", 4242, false, reply.c_str(), app::DecodeErrc::unknown_block},
        {"odd data", "AP300", 1400, true, "000", app::DecodeErrc::bad_hex},
        {"short data", "AP300", 1400, true, "0000", app::DecodeErrc::bad_block_data},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        app::DecodeRequest r;
        r.model = row.model;
        r.block = row.block;
        r.data_only = row.data_only;
        r.hex = row.hex;
        const auto decoded = app::decode_hex(r);
        REQUIRE_FALSE(decoded.ok());
        CHECK_MESSAGE(decoded.error().code == row.code, app::to_string(decoded.error().code), ": ", decoded.error().message);
    }
    app::DecodeRequest good;
    good.model = "EL100V2";
    good.block = 1300;
    good.hex = reply;
    const auto decoded = app::decode_hex(good);
    REQUIRE(decoded.ok());
    CHECK(decoded->warning.empty());
    CHECK(nlohmann::json::parse(decoded->text)["fields"]["grid_frequency"] == 50.0);
}
