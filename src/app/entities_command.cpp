#include "entities_command.hpp"

#include <unistd.h>

#include <ostream>

#include "bluetti/event_loop.hpp"
#include "bluetti/mqtt/session.hpp"
#include "entities_view.hpp"

namespace bluetti::app {

namespace {

// Where the local broker is: mqtt://host[:port] or mqtts://host[:port].
mqtt::Options broker_options(const EntitiesRequest& request) {
    const bool tls = request.broker.rfind("mqtts://", 0) == 0;
    std::string rest = request.broker.substr(request.broker.find("://") == std::string::npos ? 0 : request.broker.find("://") + 3);
    const auto colon = rest.rfind(':');
    mqtt::Options o;
    o.host = colon == std::string::npos ? rest : rest.substr(0, colon);
    o.port = colon == std::string::npos ? (tls ? 8883 : 1883) : std::atoi(rest.c_str() + colon + 1);
    o.tls = tls;
    o.username = request.username;
    o.password = request.password;
    o.client_id = "bluetti-cli-entities-" + std::to_string(::getpid());
    return o;
}

}  // namespace

int run_entities(const EntitiesRequest& request, std::ostream& out, std::ostream& err) {
    EventLoop loop;
    mqtt::Session session(loop, "local");
    EntitiesView view(request.prefix, [&session](const std::string& topic) { session.subscribe(topic, 1); });
    std::string error;
    bool failed = false;

    mqtt::Session::Handlers h;
    h.on_connect = [&](int rc, const std::string& reason) {
        if (rc != 0) {
            error = reason;
            failed = true;
            return;
        }
        session.subscribe(request.prefix + "/device/+/config", 1);
        session.subscribe(request.prefix + "/+/+/+/config", 1);
    };
    h.on_message = [&](const std::string& topic, ByteSpan payload, bool) {
        view.on_message(topic, std::string(payload.begin(), payload.end()));
    };
    session.set_handlers(std::move(h));
    if (!session.connect(broker_options(request), error)) {
        err << "bluetti-cli entities: " << error << "\n";
        return 1;
    }
    do {
        loop.run_until([&] { return failed; }, std::chrono::milliseconds(static_cast<long long>(request.wait_s * 1000)));
        if (failed) {
            err << "bluetti-cli entities: " << error << "\n";
            return 1;
        }
        if (request.json) {
            view.print_json(out);
        } else {
            if (request.watch && ::isatty(STDOUT_FILENO)) out << "\033[H\033[2J";
            view.print_table(out);
        }
    } while (request.watch && !loop.stopped());
    session.disconnect();
    return 0;
}

}  // namespace bluetti::app
