// A mosquitto plugin for the system tests only (plugin API 5, mosquitto 2.0): it plays a Bluetti
// broker whose ACL does not let the bridge watch the devices' request topics ("the mirror",
// docs/architecture.md), by answering one user's subscriptions to request topics (`SUB/...`):
//
//   plugin /path/to/subscribe_acl_plugin.so
//   plugin_opt_username bluetti-test-client    whose subscriptions it judges (the simulated devices
//                                              subscribe their own request topics with another identity)
//   plugin_opt_request_subscribe deny          deny | disconnect | allow
//   plugin_opt_record /tmp/.../subscribes.log  optional: one line "<client id> <topic> <verdict>" per judged subscription
//
// deny: MOSQ_ERR_ACL_DENIED, which mosquitto 2.0.11 answers with SUBACK 0x80 to an MQTT 3.1.1
// client (src/handle_subscribe.c). disconnect: MOSQ_ERR_AUTH; handle__subscribe() returns any code
// other than success or "denied" to the packet loop, which closes the connection without a SUBACK
// (the broker logs "Client … disconnected, not authorised."). Every other check is allowed with
// MOSQ_ERR_SUCCESS, not MOSQ_ERR_PLUGIN_DEFER: when every plugin defers, mosquitto denies.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

struct Settings {
    mosquitto_plugin_id_t* identifier = nullptr;
    std::string username;
    std::string verdict = "allow";
    std::string record;
};

bool is_request_topic(const char* topic) {
    return topic && std::strncmp(topic, "SUB/", 4) == 0;
}

void record(const Settings& settings, const char* client_id, const char* topic) {
    if (settings.record.empty()) return;
    if (std::FILE* f = std::fopen(settings.record.c_str(), "a")) {
        std::fprintf(f, "%s %s %s\n", client_id ? client_id : "?", topic, settings.verdict.c_str());
        std::fclose(f);
    }
}

int on_acl_check(int, void* event_data, void* userdata) {
    const auto& settings = *static_cast<const Settings*>(userdata);
    const auto& check = *static_cast<const mosquitto_evt_acl_check*>(event_data);
    if (check.access != MOSQ_ACL_SUBSCRIBE || !is_request_topic(check.topic)) return MOSQ_ERR_SUCCESS;
    const char* username = mosquitto_client_username(check.client);
    if (!username || settings.username != username) return MOSQ_ERR_SUCCESS;
    record(settings, mosquitto_client_id(check.client), check.topic);
    if (settings.verdict == "deny") return MOSQ_ERR_ACL_DENIED;
    if (settings.verdict == "disconnect") return MOSQ_ERR_AUTH;
    return MOSQ_ERR_SUCCESS;
}

}  // namespace

extern "C" {

int mosquitto_plugin_version(int supported_version_count, const int* supported_versions) {
    for (int i = 0; i < supported_version_count; ++i)
        if (supported_versions[i] == 5) return 5;
    return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** userdata, struct mosquitto_opt* options, int option_count) {
    auto* settings = new Settings;
    settings->identifier = identifier;
    for (int i = 0; i < option_count; ++i) {
        const std::string key = options[i].key, value = options[i].value;
        if (key == "username") {
            settings->username = value;
        } else if (key == "request_subscribe" && (value == "deny" || value == "disconnect" || value == "allow")) {
            settings->verdict = value;
        } else if (key == "record") {
            settings->record = value;
        } else {
            mosquitto_log_printf(MOSQ_LOG_ERR, "subscribe_acl_plugin: unknown option plugin_opt_%s %s", key.c_str(), value.c_str());
            delete settings;
            return MOSQ_ERR_INVAL;
        }
    }
    *userdata = settings;
    return mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, nullptr, settings);
}

int mosquitto_plugin_cleanup(void* userdata, struct mosquitto_opt*, int) {
    auto* settings = static_cast<Settings*>(userdata);
    mosquitto_callback_unregister(settings->identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, nullptr);
    delete settings;
    return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
