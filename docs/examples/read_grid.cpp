// docs/examples/read_grid.cpp — the C++ SDK in a few lines: log in, read block 1300 (grid) and
// the "battery" poll group of one power station, print a few values. Compiled by the test suite.
//
//   read_grid EMAIL SERIAL        (password from $BLUETTI_PASSWORD)
#include <bluetti/client.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    if (argc < 3 || !std::getenv("BLUETTI_PASSWORD")) {
        std::fprintf(stderr, "usage: BLUETTI_PASSWORD=... %s EMAIL SERIAL\n", argv[0]);
        return 2;
    }
    bluetti::ClientOptions options;
    options.email = argv[1];
    options.password = std::getenv("BLUETTI_PASSWORD");
    options.serial = argv[2];
    options.state_dir = "/tmp/bluetti-example";  // token and certificate cache (mode 0600)

    bluetti::Client client(options);  // owns its event loop: every call below waits for its answer
    if (auto connected = client.connect(); !connected) {
        std::fprintf(stderr, "connect: %s\n", connected.error().c_str());
        return 1;
    }
    std::printf("%s (%s), profile %s\n", client.device().sn.c_str(), client.device().model.c_str(), client.profile().model.c_str());

    auto grid = client.read_block(1300);
    if (!grid) {
        std::fprintf(stderr, "block 1300: %s\n", grid.error().message.c_str());
        return 1;
    }
    for (const auto& field : grid->decoded.fields) {
        if (const auto* v = std::get_if<double>(&field.value))
            std::printf("%-28s %.2f %s\n", field.key.c_str(), *v, field.spec->unit.c_str());
    }

    auto battery = client.read_group("battery");  // the profile's poll group: block 6000
    if (battery) std::printf("battery group: %zu block(s)\n", battery->size());
    return 0;
}
