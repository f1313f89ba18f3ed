// The seed's online commands of bluetti-cli: login, devices, scan, raw, listen. Each builds a
// bluetti::Client from the global flags and prints JSON (--json) or text.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "bluetti/client.hpp"
#include "bluetti/result.hpp"

namespace bluetti::app {

struct GlobalOptions {
    std::string sn;
    std::string model;
    std::string cert;  // PKCS#12 file: certificate mode
    std::optional<std::string> password;
    std::string email;
    std::string api;
    std::string broker;
    std::string ca_file;
    bool tls_insecure = false;
    std::string mqtt_username;
    std::optional<std::string> mqtt_password;
    std::string sub_sn;
    std::string state_dir;
    int retries = 3;
    double retry_initial_delay = 1.0;
    double retry_max_delay = 10.0;
    double request_timeout = 5.0;
    bool json = false;
    std::vector<std::string> schema_dirs;
    std::vector<std::string> profile_dirs;
    std::optional<std::vector<std::string>> controls;  // writable control keys; unset = the profile's
};

struct WriteRequest {
    std::string key;                   // a control key, or
    std::optional<std::uint16_t> reg;  // its register
    std::string value;                 // on/off, an option, a number
};

// Where a password came from is decided here: flag > environment > a no-echo prompt on the
// terminal; with no terminal and no password, an error that says how to give one.
Result<ClientOptions, std::string> make_client_options(const GlobalOptions& g, bool need_device);

int run_login(const GlobalOptions& g, std::ostream& out, std::ostream& err);
int run_devices(const GlobalOptions& g, std::ostream& out, std::ostream& err);
int run_scan(const GlobalOptions& g, const std::vector<int>& blocks, std::ostream& out, std::ostream& err);
int run_raw(const GlobalOptions& g, int block, int registers, int pack, std::ostream& out, std::ostream& err);
// Writes one control (docs/protocol.md §8): validated like a Home Assistant command, confirmed by the
// echo and by a re-read. Exit 0 confirmed, 1 not confirmed, 2 refused before sending.
int run_write(const GlobalOptions& g, const WriteRequest& w, std::ostream& out, std::ostream& err);
int run_listen(const GlobalOptions& g, const std::string& group, double interval_s, int count, std::ostream& out, std::ostream& err);

}  // namespace bluetti::app
