// The guard against false rejections, real bytes: every golden vector (tests/data/golden_vectors.json)
// and every capture of a real AP300 (tests/data/apex300) passes check_plausible under its profile
// and under GENERIC_V2 (what a device falls back to when its model is unknown), whole and cut to
// every shorter reply the block accepts. The pack voltage agrees with the captured cells.
#include <filesystem>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"

using namespace bluetti;

namespace {

struct Registries {
    profile::ProfileSet profiles = *profile::ProfileSet::builtin();
    schema::SchemaRegistry base = *schema::SchemaRegistry::builtin();
    std::map<std::string, schema::SchemaRegistry> applied;

    const schema::SchemaRegistry& of(const std::string& model) {
        if (auto it = applied.find(model); it != applied.end()) return it->second;
        const profile::Profile* p = profiles.find(model);
        REQUIRE(p != nullptr);
        auto r = profile::apply_profile(base, *p);
        REQUIRE_MESSAGE(r.ok(), r.error().message);
        return applied.emplace(model, std::move(*r)).first->second;
    }
};

using test::trimmed;

// Register data and its block from a whole payload (the push's start address, else `block`).
std::pair<std::uint16_t, Bytes> payload_data(const std::string& hex, std::uint16_t block) {
    const Bytes payload = test::hex(hex);
    auto unwrapped = codec::unwrap(payload);
    REQUIRE_MESSAGE(unwrapped.ok(), unwrapped.error().message);
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
    REQUIRE_MESSAGE(frame.ok(), frame.error().message);
    if (frame->kind == codec::FrameKind::write_multiple) block = frame->address;
    return {block, Bytes(frame->data.begin(), frame->data.end())};
}

// Decodes `data` as `block` under `model`, whole and as every shorter accepted reply, and checks
// plausibility. Returns the number of decodes checked.
int check_all_lengths(Registries& r, const std::string& model, std::uint16_t block, const Bytes& data, int pack = 1) {
    CAPTURE(model);
    CAPTURE(block);
    const schema::BlockSchema* s = r.of(model).find(block);
    REQUIRE(s != nullptr);
    int checked = 0;
    for (std::size_t n = data.size(); n >= s->min_len && n >= 2; n -= 2) {
        CAPTURE(n);
        auto decoded = schema::decode(*s, ByteSpan(data).first(n), {pack});
        REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);
        const auto finding = schema::check_plausible(*s, *decoded);
        CHECK_MESSAGE(!finding, (finding ? schema::to_string(*finding) : ""));
        ++checked;
    }
    return checked;
}

double cell_sum(const schema::DecodedBlock& cells) {
    double sum = 0;
    for (const auto& f : cells.fields)
        if (f.key.find("_cell") != std::string::npos && f.key.ends_with("_voltage") && f.key.find("cell_voltage") == std::string::npos)
            if (const auto* v = std::get_if<double>(&f.value)) sum += *v;
    return sum;
}

}  // namespace

TEST_CASE("every golden vector is plausible under its profile and under GENERIC_V2") {
    Registries r;
    int vectors = 0;
    for (const auto& v : test::golden_vectors()) {
        const std::string id = v["id"];
        CAPTURE(id);
        if (!v.contains("decoded") || v["decoded"].contains("exception") || id == "G7") continue;  // no block data
        const auto [block, data] = payload_data(v["frames"].back().get<std::string>(), static_cast<std::uint16_t>(v.value("block", 0)));
        for (const std::string& model : {v["profile"].get<std::string>(), std::string(profile::kGenericProfile)})
            CHECK(check_all_lengths(r, model, block, data, v.value("pack", 1)) > 0);
        ++vectors;
    }
    CHECK(vectors == 9);
}

TEST_CASE("every AP300 capture is plausible under AP300 and under GENERIC_V2") {
    Registries r;
    const std::string dir = std::string(BLUETTI_TEST_DATA) + "/apex300";
    std::vector<std::pair<std::uint16_t, Bytes>> captures = {
        payload_data(trimmed(test::read_data_file("apex300/mqtt_home_data_v2.hex")), 100),
        payload_data(trimmed(test::read_data_file("apex300/mqtt_pack_main_v2.hex")), 6000),
        {6100, test::hex(trimmed(test::read_data_file("apex300/pack_item_v2.hex")))},
        {21000, test::hex(trimmed(test::read_data_file("apex300/node_info_v1.hex")))},
    };
    for (const auto& entry : std::filesystem::directory_iterator(dir + "/blocks")) {
        const std::string name = entry.path().stem().string();  // block_<id>
        const auto block = static_cast<std::uint16_t>(std::stoi(name.substr(6)));
        if (!r.of("AP300").find(block)) continue;  // 1600, 2300, 2400, 11000: no schema
        captures.emplace_back(block, test::hex(trimmed(test::read_data_file("apex300/blocks/" + entry.path().filename().string()))));
    }
    CHECK(captures.size() == 12);
    for (const auto& [block, data] : captures)
        for (const char* model : {"AP300", "GENERIC_V2"}) CHECK(check_all_lengths(r, model, block, data) > 0);
}

TEST_CASE("the captured pack voltage agrees with the captured cells at 0.01 V, not at 0.1 V") {
    Registries r;
    const auto cells_data = test::hex(trimmed(test::read_data_file("apex300/blocks/block_6300.hex")));
    const auto home = payload_data(trimmed(test::read_data_file("apex300/mqtt_home_data_v2.hex")), 100);
    for (const auto& [model_, expected] :
         {std::pair{"AP300", schema::PackVoltageCheck::consistent}, std::pair{"GENERIC_V2", schema::PackVoltageCheck::scale_suspect}}) {
        const char* const model = model_;  // a named copy: clang 14 cannot capture a structured binding
        CAPTURE(model);
        const auto cells = schema::decode(*r.of(model).find(6300), cells_data);
        const auto dashboard = schema::decode(*r.of(model).find(100), home.second);
        REQUIRE(cells.ok());
        REQUIRE(dashboard.ok());
        const double pack = std::get<double>(dashboard->find("pack_voltage")->value);
        CHECK(cell_sum(*cells) == doctest::Approx(53.174));
        CHECK(schema::check_pack_voltage(pack, cell_sum(*cells)) == expected);
    }
}
