#include "bluetti/text.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

using bluetti::text::echo;
using bluetti::text::invalid_utf8_at;
using bluetti::text::valid_utf8;

TEST_CASE("valid_utf8 accepts well-formed UTF-8 and nothing else") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("ON"));
    CHECK(valid_utf8("Wohnzimmer \xC3\xA4 \xE2\x82\xAC \xF0\x9F\x94\x8B"));  // ä € 🔋
    CHECK_FALSE(valid_utf8("O\xFFN"));
    CHECK_FALSE(
        valid_utf8("K\xFC"
                   "che"));                       // Latin-1 ü
    CHECK_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
    CHECK_FALSE(valid_utf8("\xE0\x80\xAF"));      // overlong, three bytes
    CHECK_FALSE(valid_utf8("\xED\xA0\x80"));      // a surrogate
    CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(valid_utf8("\xE2\x82"));          // cut short
    CHECK_FALSE(valid_utf8("\x80"));              // a lone continuation byte
    CHECK(invalid_utf8_at("ab\xC3\xA4x\xFF") == 5);
    CHECK(invalid_utf8_at("abc") == std::string_view::npos);
}

TEST_CASE("echo escapes what is not printable UTF-8 and the result always dumps as JSON") {
    CHECK(echo("ON") == "ON");
    CHECK(echo("O\xFFN") == "O\\xFFN");
    CHECK(echo(std::string("a\0b", 3)) == "a\\x00b");
    CHECK(echo("line\nbreak\x1B[31m") == "line\\x0Abreak\\x1B[31m");
    CHECK(echo("back\\slash") == "back\\\\slash");
    CHECK(echo("K\xC3\xBC"
               "che") ==
          "K\xC3\xBC"
          "che");
    CHECK(echo("\xC2\x85") == "\\xC2\\x85");  // NEL, a C1 control
    for (const std::string& hostile : {std::string("O\xFFN"), std::string("\xED\xA0\x80"), std::string("\xC3")}) {
        nlohmann::json j;
        j["v"] = echo(hostile);
        CHECK_NOTHROW((void)j.dump());
    }
}

TEST_CASE("echo cuts long input and says how long it was, without splitting a character") {
    const std::string big(1 << 20, 'A');
    const std::string shown = echo(big);
    CHECK(shown == std::string(bluetti::text::kEchoBytes, 'A') + "\u2026(1048576 bytes)");
    // A two-byte character cut by the limit is escaped, never half-copied.
    const std::string cut = echo("ab\xC3\xA4", 3);
    CHECK(cut == "ab\\xC3\u2026(4 bytes)");
    CHECK(valid_utf8(cut));
}
