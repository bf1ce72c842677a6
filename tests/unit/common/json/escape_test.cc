// json::appendEscaped / appendString: what attempt records, template renders and
// load-test events put between quotes.
#include "common/json/escape.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace hookpipe::json {
namespace {

TEST(JsonEscape, EveryControlCharacterQuoteAndBackslashIsEscaped) {
  std::string raw;
  for (int c = 1; c < 0x20; ++c) raw += static_cast<char>(c);
  std::string out;
  appendEscaped(out, raw + "\"\\");
  EXPECT_EQ(out,
            "\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e"
            "\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019"
            "\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\\"\\\\");
  out.clear();
  appendEscaped(out, std::string_view("a\0b", 3));
  EXPECT_EQ(out, "a\\u0000b");
}

TEST(JsonEscape, ValidUtf8PassesAndEachBadByteBecomesOneReplacementCharacter) {
  std::string out;
  appendString(out, "é 東京 🚀 \x7f");
  EXPECT_EQ(out, "\"é 東京 🚀 \x7f\"");
  out.clear();
  // A lone continuation byte, a cut 3-byte sequence at the end.
  appendString(out, "a\x80z\xE6\x9D");
  EXPECT_EQ(out, "\"a\xEF\xBF\xBDz\xEF\xBF\xBD\xEF\xBF\xBD\"");
  simdjson::dom::parser parser;
  EXPECT_EQ(parser.parse(out).error(), simdjson::SUCCESS);
}

}  // namespace
}  // namespace hookpipe::json
