// The SDK (bluetti::Client) and bluetti-cli's online commands against bluetti-sim on a real TLS
// mosquitto: battery packs found with NODE_INFO as the daemon finds them, read_group,
// register_schema, listen, and where a password comes from.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <poll.h>
#include <pty.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <map>

#include "bluetti/client.hpp"
#include "bluetti/schema/registry.hpp"
#include "fixture.hpp"

using namespace bluetti;
using namespace bluetti::systest;
using nlohmann::json;

namespace {

const SimDevice kAp300{"AP300", "AP3002616113487436", "2616113487436"};
const SimDevice kEl100{"EL100V2", "2345000000002", ""};

ClientOptions client_options(const Cloud& cloud, const std::string& serial) {
    ClientOptions o;
    o.email = kEmail;
    o.password = kPassword;
    o.api = cloud.api();
    o.ca_file = certificates().ca_cert;
    o.broker = cloud.broker.address();
    o.serial = serial;
    return o;
}

// bluetti-cli with extra environment variables; stdin is /dev/null (not a terminal).
CommandResult cli_with_env(const TempDir& dir, const std::vector<std::string>& args, const std::vector<std::string>& env) {
    ChildOptions o;
    o.stdout_file = dir.file("cli-env.out");
    o.stderr_file = o.stdout_file;
    o.env = env;
    ChildProcess p;
    std::string error;
    REQUIRE_MESSAGE(p.start(BLUETTI_CLI_BINARY, args, o, error), error);
    const auto status = p.wait(std::chrono::seconds(90));
    CommandResult r;
    r.status = status ? *status : (p.stop(), -1);
    r.output = read_text_file(o.stdout_file);
    return r;
}

// bluetti-cli on a pseudo-terminal, as a user runs it: `answer` is typed once `prompt` shows
// (nothing is typed when `prompt` is empty). Returns the exit status and what the terminal showed.
CommandResult cli_on_terminal(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& prompt,
                              const std::string& answer) {
    std::vector<std::string> argv_text{BLUETTI_CLI_BINARY};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    int master = -1;
    const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::unsetenv("BLUETTI_PASSWORD");
        for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
        ::execv(BLUETTI_CLI_BINARY, argv.data());
        ::_exit(127);
    }
    CommandResult r;
    bool typed = prompt.empty();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{master, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        char buffer[1024];
        const ssize_t n = ::read(master, buffer, sizeof buffer);
        if (n <= 0) break;  // EIO: the child closed the terminal
        r.output.append(buffer, static_cast<std::size_t>(n));
        if (!typed && r.output.find(prompt) != std::string::npos) {
            const std::string line = answer + "\n";
            REQUIRE(::write(master, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
            typed = true;
        }
    }
    // The terminal closes a moment before the process ends: wait for the exit itself (a pidfd
    // becomes readable then), up to the deadline.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    REQUIRE(pidfd >= 0);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd exited{pidfd, POLLIN, 0};
    ::poll(&exited, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    ::close(pidfd);
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);  // our own child, still running after the deadline
        ::waitpid(pid, &status, 0);
        r.status = -1;
    } else {
        r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    ::close(master);
    return r;
}

std::vector<std::string> with(std::vector<std::string> args, std::initializer_list<std::string> more) {
    args.insert(args.end(), more);
    return args;
}

}  // namespace

TEST_CASE("bluetti-cli raw --pack N reads the expansion pack NODE_INFO lists, a pack that does not exist is an error") {
    Cloud cloud({kAp300});
    const auto flags = with(cloud.account_flags(), {"--sn", kAp300.sub_sn, "--json", "raw"});

    auto nodes = cli(with(flags, {"--block", "21000"}));
    REQUIRE_MESSAGE(nodes.status == 0, nodes.output);
    const json node_info = json_lines(nodes.output).at(0)["fields"];
    REQUIRE(node_info["node2_model_code"] == 4005);  // the simulated B300 expansion pack
    const int pack_slave = node_info["node2_slave"];
    REQUIRE(pack_slave != 0);

    auto pack2 = cli(with(flags, {"--block", "6100", "--pack", "2"}));
    REQUIRE_MESSAGE(pack2.status == 0, pack2.output);
    const json p2 = json_lines(pack2.output).at(0);
    CHECK(p2["pack"] == 2);
    CHECK(p2["slave"] == pack_slave);  // the pack's own slave, not the main unit's 0
    CHECK(p2["fields"]["battery_pack2_model"] == "B300");
    CHECK(p2["fields"]["battery_pack2_serial"] == node_info["node2_serial"]);

    // Pack 1 is the main unit: a different battery than pack 2.
    auto pack1 = cli(with(flags, {"--block", "6100", "--pack", "1"}));
    REQUIRE_MESSAGE(pack1.status == 0, pack1.output);
    const json p1 = json_lines(pack1.output).at(0);
    CHECK(p1["slave"] == 0);
    CHECK(p1["fields"]["battery_pack1_serial"] == node_info["node1_serial"]);
    CHECK(p1["fields"]["battery_pack1_serial"] != p2["fields"]["battery_pack2_serial"]);

    auto pack3 = cli(with(flags, {"--block", "6100", "--pack", "3"}));
    CHECK(pack3.status == 1);
    CHECK_MESSAGE(pack3.output.find("no battery pack 3: the device reports 2 pack(s)") != std::string::npos, pack3.output);
    CHECK(pack3.output.find("battery_pack3") == std::string::npos);
}

TEST_CASE("bluetti-cli scan reads the per-pack blocks of every pack at its own slave") {
    Cloud cloud({kAp300});
    auto r = cli(with(cloud.account_flags(), {"--sn", kAp300.sub_sn, "--json", "scan"}));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    std::map<int, json> pack_items;  // pack -> its 6100 fields
    int node_slave = -1;
    for (const auto& j : json_lines(r.output)) {
        if (!j.contains("block") || !j.contains("fields")) continue;
        if (j["block"] == 21000) node_slave = j["fields"].value("node2_slave", -1);
        if (j["block"] == 6100) pack_items[j["pack"].get<int>()] = j;
    }
    REQUIRE_MESSAGE(pack_items.size() == 2, r.output);
    CHECK(pack_items[1]["slave"] == 0);
    CHECK(pack_items[2]["slave"] == node_slave);
    CHECK(pack_items[2]["fields"]["battery_pack2_model"] == "B300");
    CHECK(pack_items[1]["fields"]["battery_pack1_model"] == "AP300");
    CHECK(pack_items[1]["fields"]["battery_pack1_serial"] != pack_items[2]["fields"]["battery_pack2_serial"]);
}

TEST_CASE("bluetti-cli --profile-dir: a profile from a directory replaces the built-in one for the online commands") {
    Cloud cloud({kEl100});
    // The built-in EL100V2 with grid_frequency left out: seen only if the directory's profile is used.
    std::filesystem::create_directories(cloud.dir.file("profiles"));
    write_text_file(cloud.dir.file("profiles/el100v2.yaml"),
                    "model: EL100V2\nname: Elite 100 V2 (local)\ncloud_model: EL100V2\nenvelope: v2\nslave: 0\nmax_power: 1800\n"
                    "groups:\n  - {name: core, interval: 10s, blocks: [{block: 100, read: 62}, {block: 1300, read: 31}]}\n"
                    "overrides:\n  grid_frequency: {omit: true}\n");
    const auto flags = with(cloud.account_flags(), {"--sn", kEl100.sn, "--json"});
    auto plain = cli(with(flags, {"raw", "--block", "1300"}));
    REQUIRE_MESSAGE(plain.status == 0, plain.output);
    CHECK(json_lines(plain.output).at(0)["fields"].contains("grid_frequency"));
    auto local = cli(with(flags, {"--profile-dir", cloud.dir.file("profiles"), "raw", "--block", "1300"}));
    REQUIRE_MESSAGE(local.status == 0, local.output);
    const json fields = json_lines(local.output).at(0)["fields"];
    CHECK_FALSE(fields.contains("grid_frequency"));
    CHECK(fields.contains("grid_phase1_voltage"));
}

TEST_CASE(
    "bluetti-cli and the SDK look for a device that does not answer at its profile's slave at the probe slaves, unless a slave is "
    "configured") {
    Cloud cloud({kEl100});
    // The EL100V2 (which answers at slave 0) described at slave 7 first: only probing finds it.
    std::filesystem::create_directories(cloud.dir.file("profiles"));
    write_text_file(cloud.dir.file("profiles/el100v2.yaml"),
                    "model: EL100V2\nname: Elite 100 V2 (elsewhere)\ncloud_model: EL100V2\nenvelope: v2\nslave: 7\nprobe_slaves: [0]\n"
                    "max_power: 1800\ngroups:\n  - {name: core, interval: 10s, blocks: [{block: 100, read: 62}]}\n");
    const auto flags = with(cloud.account_flags(), {"--sn", kEl100.sn, "--json", "--profile-dir", cloud.dir.file("profiles"), "--retries",
                                                    "1", "--request-timeout", "1"});
    auto found = cli(with(flags, {"raw", "--block", "100"}));
    REQUIRE_MESSAGE(found.status == 0, found.output);
    const json reply = json_lines(found.output).at(0);
    CHECK(reply["slave"] == 0);
    CHECK(reply["fields"].contains("pack_soc"));

    // A configured slave is the only place asked: the SDK's `slave` option.
    ClientOptions o = client_options(cloud, kEl100.sn);
    o.profile_dirs = {cloud.dir.file("profiles")};
    o.request_timeout = std::chrono::seconds(1);
    o.retry.attempts = 1;
    o.slave = 7;
    Client pinned(o);
    REQUIRE_MESSAGE(pinned.connect().ok(), pinned.link_status().last_error);
    auto silent = pinned.read_block(100);
    REQUIRE_FALSE(silent.ok());
    CHECK(silent.error().code == cloud::ChannelErrc::timeout);
}

TEST_CASE("bluetti-cli raw --pack 2 on a model without expansion packs is an error, not the station's own pack") {
    Cloud cloud({kEl100});
    auto r = cli(with(cloud.account_flags(), {"--sn", kEl100.sn, "--json", "raw", "--block", "6100", "--pack", "2"}));
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("no battery pack 2: the device reports 1 pack(s)") != std::string::npos, r.output);
}

TEST_CASE("Client::read_group reads a per-pack group once per pack at each pack's slave, unknown groups are refused") {
    Cloud cloud({kAp300});
    Client client(client_options(cloud, kAp300.sub_sn));
    REQUIRE_MESSAGE(client.connect().ok(), client.link_status().last_error);

    auto core = client.read_group("core");
    REQUIRE_MESSAGE(core.ok(), core.error().message);
    std::vector<int> blocks;
    for (const auto& d : *core) blocks.push_back(d.block);
    CHECK(blocks == std::vector<int>{100, 1300});
    CHECK(std::get<std::string>(core->at(0).decoded.find("device_serial")->value) == kAp300.sub_sn);

    auto cells = client.read_group("cells");
    REQUIRE_MESSAGE(cells.ok(), cells.error().message);
    std::vector<std::tuple<int, int, int>> seen;  // block, pack, slave
    for (const auto& d : *cells) seen.emplace_back(d.block, d.pack, d.slave);
    CHECK(seen == std::vector<std::tuple<int, int, int>>{{6100, 1, 0}, {6300, 1, 0}, {6100, 2, 51}, {6300, 2, 51}});
    const auto* model2 = cells->at(2).decoded.find("battery_pack2_model");
    REQUIRE(model2);
    CHECK(std::get<std::string>(model2->value) == "B300");
    CHECK(cells->at(3).decoded.find("battery_pack2_cell1_voltage"));

    auto none = client.read_group("no_such_group");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == cloud::ChannelErrc::bad_request);
    CHECK(none.error().message.find("no_such_group") != std::string::npos);
}

TEST_CASE("Client::register_schema adds a field before and after connect(), a clashing key is refused") {
    Cloud cloud({kEl100});
    auto builtin = schema::SchemaRegistry::builtin();
    REQUIRE(builtin.ok());
    auto extra_field = schema::parse_schema(
        "block: 1\nname: X\nstate_topic: x\nread: 8\nmin_len: 16\nfields:\n"
        "  - {key: sdk_test_model, offset: 2, type: string, length: 12}\n",
        "sdk-test.yaml");
    REQUIRE_MESSAGE(extra_field.ok(), extra_field.error().message);
    // Block 1100 as built in, plus the inverter model under a key of ours.
    schema::BlockSchema inv = *builtin->find(1100);
    inv.fields.push_back(extra_field->fields.at(0));

    Client before(client_options(cloud, kEl100.sn));
    CHECK_FALSE(before.register_schema(inv).has_value());
    REQUIRE_MESSAGE(before.connect().ok(), before.link_status().last_error);
    auto r = before.read_block(1100);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    const auto* model = r->decoded.find("inverter_model");
    const auto* ours = r->decoded.find("sdk_test_model");
    REQUIRE(model);
    REQUIRE(ours);
    CHECK(std::get<std::string>(ours->value) == std::get<std::string>(model->value));
    CHECK_FALSE(std::get<std::string>(ours->value).empty());

    Client after(client_options(cloud, kEl100.sn));
    REQUIRE_MESSAGE(after.connect().ok(), after.link_status().last_error);
    auto plain = after.read_block(1100);
    REQUIRE(plain.ok());
    CHECK_FALSE(plain->decoded.find("sdk_test_model"));
    CHECK_FALSE(after.register_schema(inv).has_value());
    auto now = after.read_block(1100);
    REQUIRE(now.ok());
    REQUIRE(now->decoded.find("sdk_test_model"));
    CHECK(std::get<std::string>(now->decoded.find("sdk_test_model")->value) == std::get<std::string>(model->value));

    // Keys are unique per device across blocks: the same key in another block is refused.
    schema::BlockSchema clash = *builtin->find(1300);
    clash.fields.push_back(extra_field->fields.at(0));
    const auto refused = after.register_schema(clash);
    REQUIRE(refused.has_value());
    CHECK_MESSAGE(refused->find("sdk_test_model") != std::string::npos, *refused);
}

TEST_CASE("bluetti-cli listen prints the polled core blocks and the device's pushes, decoded") {
    Cloud cloud({kEl100}, {"--push-every", "0.2"});
    auto r = cli(with(cloud.account_flags(), {"--sn", kEl100.sn, "--json", "listen", "--interval", "0.5", "--count", "4"}));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    int polled_home = 0, pushed = 0;
    for (const auto& j : json_lines(r.output)) {
        if (!j.contains("block")) continue;
        if (j.value("pushed", false)) {
            ++pushed;
            CHECK((j["block"] == 100 || j["block"] == 1300));
            CHECK_FALSE(j["fields"].empty());
            if (j["block"] == 100) CHECK(j["fields"]["device_serial"] == kEl100.sn);
        } else if (j["block"] == 100) {
            ++polled_home;
            CHECK(j["fields"]["device_serial"] == kEl100.sn);
        }
    }
    CHECK(polled_home == 4);  // one per poll, --count 4
    CHECK_MESSAGE(pushed >= 1, r.output);

    // Text output says which lines are pushes.
    auto text = cli(with(cloud.account_flags(), {"--sn", kEl100.sn, "listen", "--interval", "0.5", "--count", "3"}));
    REQUIRE_MESSAGE(text.status == 0, text.output);
    CHECK_MESSAGE(text.output.find("push block ") != std::string::npos, text.output);
    CHECK(text.output.find("device_serial") != std::string::npos);
}

TEST_CASE("bluetti-cli listen --group cells prints every pack's own cells, an unknown group is an error") {
    Cloud cloud({kAp300});
    auto r = cli(
        with(cloud.account_flags(), {"--sn", kAp300.sub_sn, "--json", "listen", "--group", "cells", "--interval", "0.2", "--count", "2"}));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    std::map<int, int> cell_blocks;  // pack -> 6300 lines
    std::map<int, std::string> serials;
    for (const auto& j : json_lines(r.output)) {
        if (!j.contains("block") || j.value("pushed", false)) continue;
        const int pack = j.value("pack", 0);
        if (j["block"] == 6300) {
            ++cell_blocks[pack];
            CHECK(j["fields"].contains("battery_pack" + std::to_string(pack) + "_cell1_voltage"));
        }
        if (j["block"] == 6100) serials[pack] = j["fields"]["battery_pack" + std::to_string(pack) + "_serial"];
    }
    CHECK_MESSAGE(cell_blocks[1] == 2, r.output);
    CHECK_MESSAGE(cell_blocks[2] == 2, r.output);
    REQUIRE(serials.size() == 2);
    CHECK(serials[1] != serials[2]);

    auto unknown = cli(with(cloud.account_flags(), {"--sn", kAp300.sub_sn, "listen", "--group", "nope", "--count", "1"}));
    CHECK(unknown.status == 2);
    CHECK_MESSAGE(unknown.output.find("no poll group 'nope' in profile AP300") != std::string::npos, unknown.output);
}

TEST_CASE("bluetti-cli password: --password before $BLUETTI_PASSWORD, no password and no terminal is a clear error") {
    Cloud cloud({kEl100});
    const std::vector<std::string> base{"--email", kEmail, "--api", cloud.api(), "--ca-file", certificates().ca_cert, "login"};

    // The flag wins over the environment, whichever of the two is right.
    auto flag_right = cli_with_env(cloud.dir, with(base, {"--password", kPassword}), {"BLUETTI_PASSWORD=wrong"});
    CHECK_MESSAGE(flag_right.status == 0, flag_right.output);
    auto flag_wrong = cli_with_env(cloud.dir, with(base, {"--password", "wrong"}), {"BLUETTI_PASSWORD=" + kPassword});
    CHECK_MESSAGE(flag_wrong.status == 3, flag_wrong.output);
    CHECK(flag_wrong.output.find("login refused") != std::string::npos);

    // Without the flag, the environment.
    auto env_right = cli_with_env(cloud.dir, base, {"BLUETTI_PASSWORD=" + kPassword});
    CHECK_MESSAGE(env_right.status == 0, env_right.output);
    auto env_wrong = cli_with_env(cloud.dir, base, {"BLUETTI_PASSWORD=wrong"});
    CHECK_MESSAGE(env_wrong.status == 3, env_wrong.output);

    // Neither, and stdin is not a terminal: no prompt, no login attempt, an error saying what to do.
    auto none = cli_with_env(cloud.dir, base, {"BLUETTI_PASSWORD="});
    CHECK(none.status == 2);
    CHECK_MESSAGE(none.output.find("no account password: give --password, set BLUETTI_PASSWORD, or run in a terminal to be asked") !=
                      std::string::npos,
                  none.output);
    CHECK(count_of(none.output, "account password: ") == 1);  // in the error only: never prompted

    // On a terminal without flag or variable: asked, without echo.
    auto asked = cli_on_terminal(base, {}, "account password: ", kPassword);
    CHECK_MESSAGE(asked.status == 0, asked.output);
    CHECK(asked.output.find("logged in as " + kEmail) != std::string::npos);
    CHECK_MESSAGE(asked.output.find(kPassword) == std::string::npos, asked.output);  // not echoed
    // The variable wins over the prompt: a terminal, and nothing asked.
    const std::string env_entry = "BLUETTI_PASSWORD=" + kPassword;
    auto not_asked = cli_on_terminal(base, {env_entry}, "", "");
    CHECK_MESSAGE(not_asked.status == 0, not_asked.output);
    CHECK(not_asked.output.find("account password: ") == std::string::npos);

    // Certificate mode has its own variables and the same rule.
    auto cert = cli_with_env(cloud.dir,
                             {"--cert", certificates().pkcs12, "--mqtt-username", "tid:x", "--sn", kEl100.sn, "--model", "EL100V2",
                              "--sub-sn", kEl100.sn, "raw", "--block", "100"},
                             {"BLUETTI_CERT_PASSWORD=", "BLUETTI_MQTT_PASSWORD=x"});
    CHECK(cert.status == 2);
    CHECK_MESSAGE(cert.output.find("no certificate password: give --password, set BLUETTI_CERT_PASSWORD") != std::string::npos,
                  cert.output);
}

int main(int argc, char** argv) {
    return run_system_tests(argc, argv);
}
