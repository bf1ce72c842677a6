#include "common/text/number.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace hookpipe::text {
namespace {

TEST(ParseInteger, ReadsAWholeDecimalNumber) {
  EXPECT_EQ(parseInteger<int64_t>("0"), 0);
  EXPECT_EQ(parseInteger<int64_t>("42"), 42);
  EXPECT_EQ(parseInteger<int64_t>("-3"), -3);
  EXPECT_EQ(parseInteger<int>("007"), 7);
  EXPECT_EQ(parseInteger<uint64_t>("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(parseInteger<int64_t>("-9223372036854775808"), std::numeric_limits<int64_t>::min());
}

TEST(ParseInteger, RejectsAnythingButDigits) {
  const std::initializer_list<std::string> inputs = {"",
                                                     " 1",
                                                     "1 ",
                                                     "+1",
                                                     "1x",
                                                     "x1",
                                                     "1.0",
                                                     "1e3",
                                                     "0x10",
                                                     "--1",
                                                     "-",
                                                     "١",
                                                     std::string("1\0", 2)};
  for (const std::string& bad : inputs) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parseInteger<int64_t>(bad));
    EXPECT_FALSE(parseInteger<uint64_t>(bad));
  }
}

TEST(ParseInteger, RejectsAMinusSignForUnsignedTypes) {
  EXPECT_FALSE(parseInteger<uint64_t>("-1"));
  EXPECT_FALSE(parseInteger<unsigned>("-0"));
}

TEST(ParseInteger, RejectsValuesOutsideTheType) {
  EXPECT_FALSE(parseInteger<int64_t>("9223372036854775808"));
  EXPECT_FALSE(parseInteger<int64_t>("-9223372036854775809"));
  EXPECT_FALSE(parseInteger<uint64_t>("18446744073709551616"));
  EXPECT_FALSE(parseInteger<int32_t>("2147483648"));
  EXPECT_EQ(parseInteger<int32_t>("2147483647"), 2147483647);
  EXPECT_FALSE(parseInteger<uint8_t>("256"));
  EXPECT_FALSE(parseInteger<int64_t>("99999999999999999999999999999999"));
}

TEST(ParseInteger, ChecksTheGivenBoundsInclusively) {
  EXPECT_EQ(parseInteger<int>("1", 1, 100), 1);
  EXPECT_EQ(parseInteger<int>("100", 1, 100), 100);
  EXPECT_FALSE(parseInteger<int>("0", 1, 100));
  EXPECT_FALSE(parseInteger<int>("101", 1, 100));
  EXPECT_FALSE(parseInteger<int>("x", 1, 100));
}

TEST(ParseInteger, ReadsOnlyTheViewNotTheBytesAfterIt) {
  const std::string text = "12345";
  EXPECT_EQ(parseInteger<int>(std::string_view(text).substr(0, 2)), 12);
}

}  // namespace
}  // namespace hookpipe::text
