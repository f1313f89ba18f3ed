#include "bluetti/client.hpp"

#include "bluetti/cloud/connection.hpp"
#include "bluetti/log.hpp"

namespace bluetti {

using namespace std::chrono;
using cloud::kNodeInfoBlock;

struct Client::State {
    std::unique_ptr<EventLoop> own_loop;
    EventLoop* loop;
    ClientOptions options;
    profile::ProfileSet profiles;
    const profile::Profile* profile = nullptr;
    schema::SchemaRegistry base_schemas;
    schema::SchemaRegistry schemas;
    cloud::DeviceRecord device;
    // The account session, TLS, link and this device's channel (shared with the daemon's code).
    std::unique_ptr<cloud::Connection> connection;
    cloud::DeviceChannel* channel = nullptr;  // owned by `connection`
    // Where the device answers and its battery packs, numbered as the daemon numbers them (owned
    // by `connection`; the packs are asked for once, on the first read that needs them).
    cloud::DeviceLocator* locator = nullptr;
    std::optional<cloud::AccountSession> no_account;
    std::function<void(const cloud::BlockData&)> push_handler;
    std::vector<profile::Control> controls;         // point into `schemas`: recomputed whenever it changes
    std::vector<schema::BlockSchema> user_schemas;  // register_schema() before connect()
    Callback<Ok> connect_done;
    cloud::ChannelStats empty_stats;
    cloud::CloudLink::Status empty_status;

    void finish_connect(Result<Ok, std::string> result) {
        if (auto done = std::move(connect_done)) {
            connect_done = nullptr;
            done(std::move(result));
        }
    }

    // A read of the device's own pack. One that timed out on a device that never answered looks
    // for it at the locator's next place (docs/protocol.md §7.3), as the daemon's polls do; a
    // configured slave is the only place, so with `slave` set a timeout is final at once.
    void read_own(std::uint16_t block, std::uint16_t registers, BlockCallback done) {
        channel->read_block(block, registers, locator->slave(), 1,
                            [this, block, registers, done = std::move(done)](Result<cloud::BlockData, cloud::ChannelError> r) mutable {
                                if (r) {
                                    locator->note_answer();
                                } else if (r.error().code == cloud::ChannelErrc::timeout && locator->core_poll_timed_out()) {
                                    return read_own(block, registers, std::move(done));
                                }
                                done(std::move(r));
                            });
    }

    // The device's writable controls: options.controls, else the profile's (docs/protocol.md §8).
    void resolve_controls() {
        std::vector<std::string> rejected;
        controls = profile::resolve_controls(schemas, options.controls ? *options.controls : profile->controls, &rejected);
        for (const auto& r : rejected) log::get("cloud")->warn("control {} is not available", r);
        if (channel) channel->set_writable(profile::control_registers(controls));
    }

    // The built-in profiles and schemas, then the directories' and register_schema()'s.
    Result<Ok, std::string> load_data() {
        auto builtin_profiles = profile::ProfileSet::builtin();
        if (!builtin_profiles) return fail(builtin_profiles.error().message);
        profiles = std::move(*builtin_profiles);
        for (const auto& dir : options.profile_dirs) {
            std::vector<std::string> replaced;
            if (auto e = profiles.load_directory(dir, &replaced)) return fail(e->message);
            for (const auto& m : replaced)
                log::get("cloud")->info("profile {} from {} replaces the built-in one", m, profiles.find(m)->source);
        }
        auto builtin_schemas = schema::SchemaRegistry::builtin();
        if (!builtin_schemas) return fail(builtin_schemas.error().message);
        base_schemas = std::move(*builtin_schemas);
        for (const auto& dir : options.schema_dirs)
            if (auto error = base_schemas.load_directory(dir)) return fail(error->message);
        for (const auto& extra : user_schemas)
            if (auto error = base_schemas.add(extra)) return fail(error->message);
        return Ok{};
    }

    // The options as the Connection takes them; certificate mode also names the device here.
    Result<cloud::ConnectionOptions, std::string> connection_options() {
        cloud::ConnectionOptions c;
        c.broker = options.broker;
        c.ca_file = options.ca_file;
        c.tls_insecure = options.tls_insecure;
        c.tls_security_level = options.tls_security_level;
        c.client_id = options.client_id;
        c.reconnect_initial = options.reconnect_initial;
        c.request_topic = options.request_topic;
        c.response_topic = options.response_topic;
        c.retry_login = false;          // the caller hears of every failure and decides
        if (!options.pkcs12.empty()) {  // certificate mode: everything comes from the options
            if (options.model.empty() || options.sub_sn.empty() || options.serial.empty())
                return fail(std::string("certificate mode needs the device's serial, model and sub_sn"));
            device.sn = options.serial;
            device.sub_sn = options.sub_sn;
            device.model = options.cloud_model;
            c.pkcs12 = options.pkcs12;
            c.pkcs12_password = options.pkcs12_password;
            c.mqtt_username = options.mqtt_username;
            c.mqtt_password = options.mqtt_password;
            return c;
        }
        if (options.email.empty() || options.password.empty())
            return fail(std::string("either an e-mail and password, or a PKCS#12 certificate is needed"));
        c.account.api = options.api;
        c.account.email = options.email;
        c.account.password = options.password;
        c.account.state_dir = options.state_dir;
        return c;
    }

    // Profile and schemas for the device, then its channel on the connection, then the link.
    void start_link() {
        const std::string model_name = !options.model.empty() ? options.model : device.model;
        profile = profiles.find(model_name);
        if (!profile) {
            log::get("cloud")->warn("no profile for model '{}': using {}", model_name, profile::kGenericProfile);
            profile = &profiles.find_or_generic(model_name);
        }
        auto applied = profile::apply_profile(base_schemas, *profile);
        if (!applied) return finish_connect(fail(applied.error().message));
        schemas = std::move(*applied);

        std::string topic_model = options.cloud_model;
        if (topic_model.empty()) topic_model = device.model;
        if (topic_model.empty()) topic_model = profile->cloud_model.empty() ? profile->model : profile->cloud_model;
        cloud::ChannelOptions channel_options;
        channel_options.retry = options.retry;
        channel_options.request_timeout = options.request_timeout;
        // The configured slave only, else the profile's places in order (read_own moves on).
        cloud::LocatorOptions where;
        where.envelope = profile->envelope;
        where.slave = profile->slave;
        where.probe_slaves = profile->probe_slaves;
        where.configured_slave = options.slave;
        where.has_packs = profile->has_block(kNodeInfoBlock);
        auto added = connection->add_device(device, topic_model, schemas, channel_options, std::move(where));
        if (!added) return finish_connect(fail(added.error()));
        channel = added->channel;
        locator = added->locator;
        resolve_controls();
        channel->set_push_handler([this](const cloud::BlockData& d) {
            if (push_handler) push_handler(d);
        });
        channel->set_anomaly_handler([](const std::string& text) { log::get("decode")->debug("{}", text); });
        connection->on_link_status([this](const cloud::CloudLink::Status& s) {
            if (s.state == cloud::CloudLink::State::up && connection->device_ready(device.sn)) finish_connect(Ok{});
        });
        connection->start();
    }

    // The device among the account's: by serial (sn or subSn), or the only one.
    void pick_device() {
        std::string known;
        for (const auto& d : connection->account_devices()) {
            if (d.sn == options.serial || d.sub_sn == options.serial ||
                (options.serial.empty() && connection->account_devices().size() == 1)) {
                device = d;
                return start_link();
            }
            known += (known.empty() ? "" : ", ") + d.sn;
        }
        finish_connect(fail("device '" + options.serial + "' is not on this account (devices: " + known + ")"));
    }
};

Client::Client(ClientOptions options) : state_(std::make_unique<State>()) {
    state_->own_loop = std::make_unique<EventLoop>();
    state_->loop = state_->own_loop.get();
    state_->options = std::move(options);
}

Client::Client(EventLoop& loop, ClientOptions options) : state_(std::make_unique<State>()) {
    state_->loop = &loop;
    state_->options = std::move(options);
}

Client::~Client() {
    disconnect();
}

void Client::connect(Callback<Ok> done) {
    State& s = *state_;
    s.connect_done = std::move(done);
    if (auto loaded = s.load_data(); !loaded) return s.finish_connect(fail(loaded.error()));
    auto options = s.connection_options();
    if (!options) return s.finish_connect(fail(options.error()));
    s.connection = std::make_unique<cloud::Connection>(*s.loop, std::move(*options));
    s.connection->open([this](Result<Ok, cloud::ConnectionError> opened) {
        State& st = *state_;
        if (!opened) {
            if (opened.error().code == cloud::ConnectionErrc::certificate)
                return st.finish_connect(fail("certificate: " + opened.error().message));
            if (opened.error().code == cloud::ConnectionErrc::bad_credentials)
                return st.finish_connect(fail("bad_credentials: " + opened.error().message));
            return st.finish_connect(fail(opened.error().message));
        }
        if (st.connection->account_mode()) return st.pick_device();
        st.start_link();
    });
}

void Client::read_block(std::uint16_t block, BlockCallback done, std::uint16_t registers, int pack) {
    State& s = *state_;
    if (!s.channel) return done(fail(cloud::ChannelError{cloud::ChannelErrc::not_connected, 0, "not connected"}));
    if (block == kNodeInfoBlock) return s.locator->read_nodes(std::move(done));
    if (pack == 1) return s.read_own(block, registers, std::move(done));
    s.locator->pack_slave(pack, [&s, block, registers, pack, done = std::move(done)](Result<std::uint8_t, cloud::ChannelError> slave) {
        if (!slave) return done(fail(slave.error()));
        s.channel->read_block(block, registers, *slave, pack, std::move(done));
    });
}

void Client::read_group(const std::string& group, std::function<void(Result<std::vector<cloud::BlockData>, cloud::ChannelError>)> done) {
    State& s = *state_;
    const profile::PollGroup* g = s.profile ? s.profile->group(group) : nullptr;
    if (!g) {
        return done(fail(cloud::ChannelError{cloud::ChannelErrc::bad_request, 0, "no poll group '" + group + "' in this profile"}));
    }
    struct Job {
        std::uint16_t block, registers;
        int pack;
    };
    if (g->per_pack && !(s.locator && s.locator->packs_known())) {
        if (!s.channel) return done(fail(cloud::ChannelError{cloud::ChannelErrc::not_connected, 0, "not connected"}));
        return s.locator->when_packs_known([this, group, done](Result<Ok, cloud::ChannelError> known) {
            if (!known) return done(fail(known.error()));
            read_group(group, done);
        });
    }
    auto jobs = std::make_shared<std::vector<Job>>();
    const int packs = g->per_pack ? static_cast<int>(s.locator->pack_slaves().size()) : 1;
    for (int pack = 1; pack <= packs; ++pack)
        for (const auto& b : g->blocks) jobs->push_back({b.block, b.registers, pack});
    auto results = std::make_shared<std::vector<cloud::BlockData>>();
    // The step function reaches itself only weakly: the request in flight owns it, so a read cut
    // short by destroying the client frees the chain instead of leaking a cycle.
    auto next = std::make_shared<std::function<void(std::size_t)>>();
    *next = [this, jobs, results, weak_next = std::weak_ptr(next), done](std::size_t i) {
        if (i == jobs->size()) {
            const auto finished = done;  // a copy: `done` may end this closure's owner
            finished(std::move(*results));
            return;
        }
        const Job& job = (*jobs)[i];
        read_block(
            job.block,
            [results, next = weak_next.lock(), done, i](Result<cloud::BlockData, cloud::ChannelError> r) {
                // An unsupported block drops out of its group (docs/protocol.md §7.2); other errors end the read.
                if (r)
                    results->push_back(std::move(*r));
                else if (r.error().code != cloud::ChannelErrc::unsupported) {
                    const auto finished = done;
                    finished(fail(r.error()));
                    return;
                }
                (*next)(i + 1);
            },
            job.registers, job.pack);
    };
    (*next)(0);
}

void Client::write_register(std::uint16_t reg, std::uint16_t value, cloud::DeviceChannel::Callback<cloud::WriteConfirmation> done) {
    State& s = *state_;
    if (!s.channel) return done(fail(cloud::ChannelError{cloud::ChannelErrc::not_connected, 0, "not connected"}));
    s.channel->write_register(s.locator->slave(), reg, value, std::move(done));
}

namespace {
template <class T>
T run_sync(EventLoop* own, std::optional<T>& slot, std::chrono::milliseconds timeout, T on_timeout) {
    own->run_until([&] { return slot.has_value(); }, timeout);
    return slot ? std::move(*slot) : std::move(on_timeout);
}
}  // namespace

Result<Ok, std::string> Client::connect() {
    std::optional<Result<Ok, std::string>> slot;
    connect([&](Result<Ok, std::string> r) { slot.emplace(std::move(r)); });
    const auto& status = link_status();
    return run_sync<Result<Ok, std::string>>(
        state_->own_loop.get(), slot, state_->options.connect_timeout,
        fail("not connected within " + std::to_string(state_->options.connect_timeout.count() / 1000) + " s (" +
             std::string(cloud::to_string(status.last_failure)) + ": " + status.last_error + ")"));
}

Result<cloud::BlockData, cloud::ChannelError> Client::read_block(std::uint16_t block, std::uint16_t registers, int pack) {
    std::optional<Result<cloud::BlockData, cloud::ChannelError>> slot;
    read_block(
        block, [&](auto r) { slot.emplace(std::move(r)); }, registers, pack);
    return run_sync<Result<cloud::BlockData, cloud::ChannelError>>(state_->own_loop.get(), slot, hours(1),
                                                                   fail(cloud::ChannelError{cloud::ChannelErrc::timeout, 0, "stopped"}));
}

Result<std::vector<cloud::BlockData>, cloud::ChannelError> Client::read_group(const std::string& group) {
    std::optional<Result<std::vector<cloud::BlockData>, cloud::ChannelError>> slot;
    read_group(group, [&](auto r) { slot.emplace(std::move(r)); });
    return run_sync<Result<std::vector<cloud::BlockData>, cloud::ChannelError>>(
        state_->own_loop.get(), slot, hours(1), fail(cloud::ChannelError{cloud::ChannelErrc::timeout, 0, "stopped"}));
}

Result<cloud::WriteConfirmation, cloud::ChannelError> Client::write_register(std::uint16_t reg, std::uint16_t value) {
    std::optional<Result<cloud::WriteConfirmation, cloud::ChannelError>> slot;
    write_register(reg, value, [&](auto r) { slot.emplace(std::move(r)); });
    return run_sync<Result<cloud::WriteConfirmation, cloud::ChannelError>>(
        state_->own_loop.get(), slot, hours(1), fail(cloud::ChannelError{cloud::ChannelErrc::timeout, 0, "stopped"}));
}

std::optional<std::string> Client::register_schema(schema::BlockSchema schema) {
    State& s = *state_;
    if (!s.channel) {  // before connect(): applied when the registries are built
        s.user_schemas.push_back(std::move(schema));
        return std::nullopt;
    }
    if (auto e = s.base_schemas.add(schema)) return e->message;
    if (auto e = s.schemas.add(std::move(schema))) return e->message;
    s.resolve_controls();
    return std::nullopt;
}

void Client::on_push(std::function<void(const cloud::BlockData&)> handler) {
    state_->push_handler = std::move(handler);
}

void Client::disconnect() {
    if (state_ && state_->connection) state_->connection->stop();
}

const profile::Profile& Client::profile() const {
    return *state_->profile;
}
const cloud::DeviceRecord& Client::device() const {
    return state_->device;
}
const schema::SchemaRegistry& Client::schemas() const {
    return state_->schemas;
}
const std::vector<profile::Control>& Client::controls() const {
    return state_->controls;
}
const cloud::ChannelStats& Client::stats() const {
    return state_->channel ? state_->channel->stats() : state_->empty_stats;
}
const cloud::CloudLink::Status& Client::link_status() const {
    return state_->connection ? state_->connection->link_status() : state_->empty_status;
}
const std::optional<cloud::AccountSession>& Client::account() const {
    return state_->connection ? state_->connection->account() : state_->no_account;
}
EventLoop& Client::loop() {
    return *state_->loop;
}

}  // namespace bluetti
