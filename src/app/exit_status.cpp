#include "exit_status.hpp"

#include <exception>

#include "bluetti/log.hpp"

namespace bluetti::app {

int run_guarded(const std::function<int()>& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        log::get("app")->critical("unexpected exception: {}; exiting with status {}", e.what(), kExitSoftware);
    } catch (...) {
        log::get("app")->critical("unexpected exception of unknown type; exiting with status {}", kExitSoftware);
    }
    return kExitSoftware;
}

}  // namespace bluetti::app
