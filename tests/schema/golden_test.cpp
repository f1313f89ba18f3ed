// docs/protocol.md §9 golden vectors G1–G11 (tests/data/golden_vectors.json, extracted verbatim):
// our builders produce each request byte for byte, and each reply decodes to exactly the listed
// values, with exactly the listed keys absent.
#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"
#include "value_json.hpp"

using namespace bluetti;

namespace {

struct Decoder {
    profile::ProfileSet profiles = *profile::ProfileSet::builtin();
    schema::SchemaRegistry base = *schema::SchemaRegistry::builtin();

    schema::SchemaRegistry for_profile(const std::string& model) {
        const profile::Profile* p = profiles.find(model);
        REQUIRE(p != nullptr);
        auto r = base.with_overrides(p->overrides);
        REQUIRE(r.ok());
        return std::move(*r);
    }
};

}  // namespace

TEST_CASE("golden vectors: requests are built byte for byte") {
    for (const auto& v : test::golden_vectors()) {
        CAPTURE(v["id"].get<std::string>());
        const std::string request = v["frames"][0];
        Bytes built;
        const std::uint8_t slave = v["slave"];
        if (v.contains("block") && v["id"] != "G9") {
            const std::uint16_t block = v["block"], count = v["registers"];
            built = codec::wrap(codec::Envelope::v2, block, *codec::build_read_request(slave, block, count));
        } else if (v["id"] == "G7") {
            built = codec::wrap(codec::Envelope::v2, 2011, *codec::build_write_single(slave, 2011, 1));
        } else if (v["id"] == "G8") {
            built = codec::wrap(codec::Envelope::v2, 21000, codec::build_node_info_query(slave));
        } else {
            continue;  // G9 and G11 are replies only
        }
        CHECK(to_hex(built) == to_hex(test::hex(request)));
    }
}

TEST_CASE("golden vectors: replies decode to the listed values") {
    Decoder decoder;
    int decoded_vectors = 0;
    for (const auto& v : test::golden_vectors()) {
        const std::string id = v["id"];
        CAPTURE(id);
        const Bytes payload = test::hex(v["frames"].back().get<std::string>());
        auto unwrapped = codec::unwrap(payload);
        REQUIRE_MESSAGE(unwrapped.ok(), unwrapped.error().message);
        auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
        REQUIRE_MESSAGE(frame.ok(), frame.error().message);
        CHECK(frame->slave == v["slave"].get<int>());

        if (frame->kind == codec::FrameKind::exception) {  // G5
            CHECK(v["decoded"] ==
                  nlohmann::json{{"slave", frame->slave}, {"function", frame->function}, {"exception", frame->exception_code}});
            continue;
        }
        if (frame->kind == codec::FrameKind::write_single) {  // G7: the echo equals the request
            const Bytes request = test::hex(v["frames"][0].get<std::string>());
            CHECK(to_hex(unwrapped->rtu) == to_hex(ByteSpan(request).subspan(codec::kV2HeaderSize)));
            continue;
        }
        const int block = frame->kind == codec::FrameKind::write_multiple ? frame->address : v["block"].get<int>();
        auto registry = decoder.for_profile(v["profile"]);
        const schema::BlockSchema* schema = registry.find(static_cast<std::uint16_t>(block));
        REQUIRE(schema != nullptr);
        auto decoded = schema::decode(*schema, frame->data, {v.value("pack", 1)});
        REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);

        nlohmann::json got = nlohmann::json::object();
        std::vector<std::string> absent;
        for (const auto& f : decoded->fields) {
            if (schema::is_absent(f.value))
                absent.push_back(f.key);
            else
                got[f.key] = app::value_json(f.value);
        }
        CHECK(got == v["decoded"]);
        for (const auto& key : v["absent"]) {
            CAPTURE(key.get<std::string>());
            CHECK(std::find(absent.begin(), absent.end(), key.get<std::string>()) != absent.end());
        }
        ++decoded_vectors;
    }
    CHECK(decoded_vectors == 9);
}

TEST_CASE("the seed's block 1300 example: 50.0 Hz, 230.4 V, 5.2 A, 1196 W") {
    Decoder decoder;
    auto registry = decoder.for_profile("EL100V2");
    const Bytes payload = test::hex("01F80F00000000C0000001032001F400000000000000000000000000000000000000000000000104AC090000345174");
    auto frame = codec::parse_frame(codec::unwrap(payload)->rtu, codec::Direction::response);
    auto decoded = schema::decode(*registry.find(1300), frame->data);
    REQUIRE(decoded.ok());
    CHECK(std::get<double>(decoded->find("grid_frequency")->value) == doctest::Approx(50.0));
    CHECK(std::get<double>(decoded->find("grid_phase1_voltage")->value) == doctest::Approx(230.4));
    CHECK(std::get<double>(decoded->find("grid_phase1_current")->value) == doctest::Approx(5.2));
    CHECK(std::get<std::int64_t>(decoded->find("grid_phase1_power")->value) == 1196);
    CHECK(schema::is_absent(decoded->find("grid_phase1_apparent_power")->value));
}
