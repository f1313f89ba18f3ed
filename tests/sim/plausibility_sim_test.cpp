// The guard against false rejections, simulated: every block every simulated model answers passes
// check_plausible under the device's own profile. Three days in 15-minute steps (night, sunrise,
// noon, evening; SOC swinging with them) under five settings scenarios, every 12th sample also cut
// to every shorter reply the block accepts; then each model at its ratings' extremes (full sun,
// full charge and full discharge at once, SOC 5 % and 100 %).
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "sim/block_values.hpp"
#include "sim_support.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::sim;
using namespace bluetti::sim::testing;

namespace {

constexpr const char* kModels[] = {"EL30V2", "EL100V2", "ELITE200V2", "AP300", "GENERIC_V2"};
constexpr std::uint16_t kBlocks[] = {100, 1100, 1200, 1300, 1400, 1500, 2000, 2200, 6000, 6100, 6300, kNodeInfoBlock};

// Settings written before a run (register, value); writes a model refuses are simply not applied.
struct Scenario {
    const char* name;
    std::vector<std::pair<std::uint16_t, std::uint16_t>> writes;
};
const Scenario kScenarios[] = {
    {"defaults", {}},
    {"turbo to 100 %, down to 5 %, feed-in and grid charging at their highest limits",
     {{2020, 2}, {2023, 100}, {2022, 5}, {2208, 1}, {2213, 6000}, {2215, 6000}}},
    {"outputs and grid charging off", {{2011, 0}, {2012, 0}, {2207, 0}}},
    {"silent, kept between 40 % and 50 %", {{2020, 1}, {2023, 50}, {2022, 40}}},
    {"no grid charging, kept between 5 % and 20 %", {{2207, 0}, {2023, 20}, {2022, 5}}},
};

// Decodes `data` as `block` and checks it, whole and (with `every_length`) cut to every shorter
// reply min_len allows. Returns the decodes checked.
int check_block(const SimDevice& d, std::uint16_t block, int pack, const Bytes& data, bool every_length) {
    const schema::BlockSchema* s = d.schemas().find(block);
    REQUIRE(s != nullptr);
    int checked = 0;
    for (std::size_t n = data.size(); n >= std::max<std::size_t>(s->min_len, 2); n -= 2) {
        auto decoded = schema::decode(*s, ByteSpan(data).first(n), {pack});
        REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);
        const auto finding = schema::check_plausible(*s, *decoded);
        CHECK_MESSAGE(!finding, d.profile().model << ", " << n << " bytes: " << (finding ? schema::to_string(*finding) : ""));
        ++checked;
        if (!every_length) break;
    }
    return checked;
}

// Every block at every slave the device answers, as block_data() builds the reply data.
int check_device_now(SimDevice& d, bool every_length) {
    int checked = 0;
    for (const std::uint8_t slave : {d.slave(), kExpansionPackSlave}) {
        for (const std::uint16_t block : kBlocks) {
            const bool node_info = block == kNodeInfoBlock && slave == d.slave() && d.identity().packs > 1;
            if (!node_info && !d.has_block(block, slave)) continue;
            CAPTURE(block);
            CAPTURE(static_cast<int>(slave));
            auto data = d.block_data(block, slave);
            REQUIRE_MESSAGE(data.ok(), (data.ok() ? "" : data.error()));
            checked += check_block(d, block, d.pack_of_slave(slave), *data, every_length);
        }
    }
    return checked;
}

}  // namespace

TEST_CASE("every block of every simulated model is plausible all day, in every scenario") {
    for (const char* model : kModels) {
        CAPTURE(model);
        double soc_low = 100, soc_high = 0;  // over all scenarios: the run must cover nearly empty and full
        for (const Scenario& scenario : kScenarios) {
            CAPTURE(scenario.name);
            TestClock clock{local_time(2026, 6, 21, 0)};
            auto d = make_device(model, clock);
            for (const auto& [reg, value] : scenario.writes) (void)d->handle(v2(reg, write_frame(d->slave(), reg, value)));
            int checked = 0;
            for (int step = 0; step < 3 * 96; ++step) {
                CAPTURE(step);
                const double soc = d->snapshot().soc;
                soc_low = std::min(soc_low, soc);
                soc_high = std::max(soc_high, soc);
                checked += check_device_now(*d, step % 12 == 0);
                clock.advance(std::chrono::minutes(15));
            }
            CHECK(checked > 3 * 96 * 9);
        }
        CHECK(soc_low <= 15);
        CHECK(soc_high >= 99.5);
    }
}

TEST_CASE("every simulated model is plausible at the extremes of its ratings") {
    for (const char* model : kModels) {
        CAPTURE(model);
        TestClock clock{local_time(2026, 6, 21, 12)};
        auto d = make_device(model, clock);
        const Rating rating = rating_for(model, d->identity().packs);
        const double scale = d->schemas().find(100)->fields.front().scale;  // pack_voltage
        for (const double soc : {5.0, 50.0, 100.0}) {
            for (const double battery_w : {-rating.max_discharge_w, 0.0, rating.max_charge_w}) {
                CAPTURE(soc);
                CAPTURE(battery_w);
                Snapshot s = d->snapshot();
                s.soc = soc;
                s.flows.pv_w = rating.pv_peak_w;
                s.flows.ac_load_w = rating.max_discharge_w;  // the rated output, all on AC
                s.flows.dc_load_w = 60;
                s.flows.grid_charge_w = rating.max_charge_w;
                s.flows.grid_passthrough_w = rating.max_discharge_w;
                s.flows.battery_w = battery_w;
                const BlockContext context{d->identity(), s, d->settings(), scale};
                for (const std::uint16_t block : kBlocks) {
                    auto values = block_values(block, 1, context);
                    if (values.empty()) continue;
                    CAPTURE(block);
                    const schema::BlockSchema* schema = d->schemas().find(block);
                    auto data = schema::encode(*schema, values, d->block_registers(block));
                    REQUIRE_MESSAGE(data.ok(), (data.ok() ? "" : data.error().message));
                    check_block(*d, block, 1, *data, false);
                }
            }
        }
    }
}
