#include "bluetti/cloud/connection.hpp"

#include "bluetti/log.hpp"
#include "bluetti/secure_clear.hpp"
#include "bluetti/text.hpp"

namespace bluetti::cloud {

using namespace std::chrono;

namespace {
long long unix_now() {
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace

std::string_view to_string(ConnectionErrc code) {
    switch (code) {
        case ConnectionErrc::bad_credentials:
            return "bad_credentials";
        case ConnectionErrc::account:
            return "account";
        case ConnectionErrc::certificate:
            return "certificate";
        case ConnectionErrc::broker:
            return "broker";
    }
    return "?";
}

Connection::Connection(EventLoop& loop, ConnectionOptions options) : loop_(loop), options_(std::move(options)) {
    options_.account.ca_file = options_.ca_file;
    options_.account.insecure = options_.tls_insecure;
}

Connection::~Connection() {
    // The owner is being torn down: tell it nothing more.
    link_status_handler_ = nullptr;
    status_text_handler_ = nullptr;
    stop();
    // Channels first: a channel being destroyed fails its requests, whose callbacks may still send.
    devices_.clear();
    link_.reset();
    secure_clear(options_.pkcs12);
    secure_clear(options_.pkcs12_password);
    secure_clear(options_.mqtt_password);
    secure_clear(options_.account.password);
}

const std::vector<DeviceRecord>& Connection::account_devices() const {
    static const std::vector<DeviceRecord> none;
    return session_ ? session_->devices : none;
}

void Connection::open(ReadyCallback ready) {
    ready_ = std::move(ready);
    if (account_mode()) return open_account();
    open_certificate();
}

void Connection::finish_open(Result<Ok, ConnectionError> result) {
    if (auto done = std::move(ready_)) {
        ready_ = nullptr;
        done(std::move(result));
    }
}

void Connection::status_text(const std::string& text) {
    if (status_text_handler_) status_text_handler_(text);
}

void Connection::open_certificate() {
    const auto made = make_tls(options_.pkcs12, options_.pkcs12_password);
    secure_clear(options_.pkcs12);  // the key lives on in the TLS context only
    secure_clear(options_.pkcs12_password);
    finish_open(made);
}

void Connection::open_account() {
    account_timer_ = 0;
    if (!http_) http_ = std::make_unique<HttpClient>(loop_);
    account_client_ = std::make_unique<AccountClient>(*http_, options_.account);
    status_text("logging in");
    account_client_->open_session([this](Result<AccountSession, AccountError> r) {
        if (r) return account_opened(std::move(*r));
        if (r.error().code == AccountErrc::bad_credentials) {
            // Final: retrying would only lock the account.
            log::get("cloud")->error("{}", r.error().message);
            status_text("login refused (check e-mail and password, then reload)");
            return finish_open(fail(ConnectionError{ConnectionErrc::bad_credentials, r.error().message}));
        }
        if (!options_.retry_login) {
            return finish_open(
                fail(ConnectionError{ConnectionErrc::account, std::string(to_string(r.error().code)) + ": " + r.error().message}));
        }
        const auto delay = login_backoff_.failed();
        log::get("cloud")->warn("account: {}; retrying in {} s", r.error().message, delay.count() / 1000);
        status_text("account unreachable, retrying");
        account_timer_ = loop_.after(delay, [this] { open_account(); });
    });
}

void Connection::account_opened(AccountSession session) {
    session_ = std::move(session);
    schedule_token_refresh();
    const auto made = make_tls(session_->pkcs12, session_->certificate_password);
    secure_clear(session_->pkcs12);  // the key lives on in the TLS context only
    secure_clear(session_->certificate_password);
    if (made || !options_.retry_login || made.error().code == ConnectionErrc::broker) {
        if (made) login_backoff_.succeeded();
        return finish_open(made);
    }
    // The cloud's bundle is kept nowhere: log in again later and download a new one.
    session_.reset();
    if (account_timer_) loop_.cancel(account_timer_);
    const auto delay = login_backoff_.failed();
    log::get("cloud")->warn("the downloaded certificate is unusable; logging in again in {} s", delay.count() / 1000);
    account_timer_ = loop_.after(delay, [this] { open_account(); });
}

Result<Ok, ConnectionError> Connection::make_tls(ByteSpan pkcs12, const std::string& password) {
    // The broker: configured, else the first device record that names one, else the REST
    // gateway's x-iot-server header, else the default. A record's address is the cloud's word,
    // not ours: one that is no host:port is passed over.
    std::optional<HostPort> broker;
    if (!options_.broker.empty()) {
        broker = parse_host_port(options_.broker, kDefaultBrokerPort);
        if (!broker) return fail(ConnectionError{ConnectionErrc::broker, "broker '" + text::echo(options_.broker) + "' is no host:port"});
    }
    for (const auto& d : account_devices()) {
        if (broker || d.iot_server.empty()) continue;
        broker = parse_host_port(d.iot_server, kDefaultBrokerPort);
        if (!broker) log::get("cloud")->warn("device {}: iotSrvIp '{}' is no host:port; ignored", d.sn, text::echo(d.iot_server));
    }
    if (!broker && session_ && !session_->iot_server_header.empty())
        broker = parse_host_port(session_->iot_server_header, kDefaultBrokerPort);
    if (!broker) broker = parse_host_port(kDefaultBroker);
    broker_ = *broker;

    TlsOptions t;
    t.host = broker_.host;
    t.ca_file = options_.ca_file;
    t.insecure = options_.tls_insecure;
    t.security_level = options_.tls_security_level;
    tls_options_ = t;
    auto ctx = TlsContext::from_pkcs12(pkcs12, password, t);
    if (!ctx) {
        log::get("cloud")->error("certificate: {}", ctx.error());
        status_text("certificate unusable");
        return fail(ConnectionError{ConnectionErrc::certificate, ctx.error()});
    }
    tls_ = std::move(*ctx);
    return Ok{};
}

void Connection::schedule_token_refresh() {
    // Log in again an hour before the token runs out (halfway through a token shorter than two
    // hours); the next CONNECT takes the new token. Every renewal schedules the next one: a daemon
    // runs for longer than one token lives (31 days).
    const std::int64_t left = session_->token_expires - unix_now();
    const auto refresh_in = seconds(std::max<std::int64_t>(1, left - std::min<std::int64_t>(3600, left / 2)));
    if (account_timer_) loop_.cancel(account_timer_);
    account_timer_ = loop_.after(refresh_in, [this] { refresh_token(); });
}

void Connection::refresh_token() {
    account_timer_ = 0;
    account_client_->refresh(
        [this](Result<AccountSession, AccountError> r) {
            if (r) {
                token_backoff_.succeeded();
                session_ = std::move(*r);
                log::get("cloud")->info("account token renewed (valid until unix time {})", session_->token_expires);
                return schedule_token_refresh();
            }
            // The old token is still good for a while: keep trying, backing off, until it is not.
            const auto delay = token_backoff_.failed();
            log::get("cloud")->warn("token refresh: {}; retrying in {} s", r.error().message, delay.count() / 1000);
            account_timer_ = loop_.after(delay, [this] { refresh_token(); });
        },
        false);
}

void Connection::renew_certificate() {
    // A refused client certificate: fetch a new one before a later attempt (docs/protocol.md §1.7).
    // Only when the failure can be the certificate's (a CA or host-name failure is not), one
    // download at a time, and backing off (1 min doubling to 1 h) while the broker keeps refusing.
    const std::string error = link_ ? link_->status().last_error : std::string();
    const long long not_after = tls_ ? tls_->certificate_not_after() : 0;
    if (!tls_failure_may_be_client_certificate(error, not_after, unix_now())) {
        log::get("cloud")->debug("TLS failure not caused by the client certificate; not downloading a new one");
        return;
    }
    const auto now = steady_clock::now();
    if (renewal_in_flight_ || now < next_renewal_allowed_) {
        log::get("cloud")->info("the broker refused the client certificate; a new one is {}",
                                renewal_in_flight_ ? "being downloaded" : "not downloaded again yet (backing off)");
        return;
    }
    next_renewal_allowed_ = now + certificate_backoff_.failed();
    renewal_in_flight_ = true;
    log::get("cloud")->warn("the broker refused the client certificate ({}); logging in again for a new one", error);
    account_client_->refresh(
        [this](Result<AccountSession, AccountError> r) {
            renewal_in_flight_ = false;
            if (!r) return log::get("cloud")->warn("certificate renewal: {}", r.error().message);
            session_ = std::move(*r);
            auto fresh = TlsContext::from_pkcs12(session_->pkcs12, session_->certificate_password, tls_options_);
            secure_clear(session_->pkcs12);
            secure_clear(session_->certificate_password);
            if (fresh) tls_ = std::move(*fresh);
            if (!fresh) log::get("cloud")->warn("the renewed certificate is unusable: {}", fresh.error());
        },
        true);
}

Result<LinkCredentials, std::string> Connection::credentials() const {
    LinkCredentials c;
    c.tls = tls_.get();
    if (!session_) {
        c.username = options_.mqtt_username;
        c.password = options_.mqtt_password;
        return c;
    }
    c.username = mqtt_username(session_->token);
    // One secret per session: a device's iotConnSecret, if the cloud gave one.
    std::string secret;
    for (const auto& [serial, d] : devices_)
        if (!d.record.conn_secret.empty()) secret = d.record.conn_secret;
    c.password = mqtt_password(session_->token, secret, session_->server_now_ms());
    return c;
}

Result<DeviceHandle, std::string> Connection::add_device(const DeviceRecord& record, const std::string& topic_model,
                                                         const schema::SchemaRegistry& schemas, ChannelOptions channel_options,
                                                         LocatorOptions where) {
    auto request = expand_topic(options_.request_topic, topic_model, record.sub_sn, record.sn);
    if (!request) return fail(request.error());
    auto response = expand_topic(options_.response_topic, topic_model, record.sub_sn, record.sn);
    if (!response) return fail(response.error());
    remove_device(record.sn);
    Device& d = devices_[record.sn];
    d.record = record;
    d.request_topic = std::move(*request);
    d.response_topic = std::move(*response);
    const std::string serial = record.sn;
    d.channel = std::make_unique<DeviceChannel>(loop_, schemas, std::move(channel_options),
                                                [this, serial](const Bytes& payload) { return link_ && link_->send(serial, payload); });
    d.locator = std::make_unique<DeviceLocator>(*d.channel, serial, std::move(where));
    if (link_) attach(serial, d);
    return DeviceHandle{d.channel.get(), d.locator.get()};
}

void Connection::attach(const std::string& serial, Device& d) {
    DeviceChannel* channel = d.channel.get();
    link_->add_device(
        serial, d.request_topic, d.response_topic, [channel](ByteSpan payload) { channel->on_payload(payload); },
        [channel](ByteSpan payload) { channel->on_request_seen(payload); });
}

void Connection::remove_device(const std::string& serial) {
    auto it = devices_.find(serial);
    if (it == devices_.end()) return;
    if (link_) link_->remove_device(serial);
    devices_.erase(it);
}

std::string Connection::response_topic(const std::string& serial) const {
    auto it = devices_.find(serial);
    return it == devices_.end() ? std::string() : it->second.response_topic;
}

void Connection::start() {
    if (link_ || !tls_) return;
    CloudLinkOptions o;
    o.host = broker_.host;
    o.port = broker_.port;
    o.client_id = options_.client_id;
    o.tls_insecure = options_.tls_insecure;
    o.reconnect_initial = options_.reconnect_initial;
    link_ = std::make_unique<CloudLink>(loop_, o, [this] { return credentials(); });
    link_->on_status([this](const CloudLink::Status& s) {
        if (s.state == CloudLink::State::up) certificate_backoff_.succeeded();
        if (link_status_handler_) link_status_handler_(s);
    });
    link_->on_auth_failure([this](LinkFailure failure) {
        if (account_client_ && failure == LinkFailure::tls) renew_certificate();
    });
    for (auto& [serial, d] : devices_) attach(serial, d);
    link_->start();
}

void Connection::stop() {
    if (link_) link_->stop();
    if (account_timer_) loop_.cancel(account_timer_);
    account_timer_ = 0;
}

}  // namespace bluetti::cloud
