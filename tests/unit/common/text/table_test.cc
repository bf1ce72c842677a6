// text::formatTable: the command-line listings' columns.
#include "common/text/table.h"

#include <gtest/gtest.h>

namespace hookpipe::text {
namespace {

TEST(TextTable, ColumnsAreAsWideAsTheirWidestCellAndTheLastIsNotPadded) {
  EXPECT_EQ(formatTable({{"ID", "STATUS", "ERROR"}, {"dlv_1", "200", "-"}, {"d2", "5", "timeout"}}),
            "ID     STATUS  ERROR\n"
            "dlv_1  200     -\n"
            "d2     5       timeout\n");
}

TEST(TextTable, NoRowsAndShortRowsAreFine) {
  EXPECT_EQ(formatTable({}), "");
  EXPECT_EQ(formatTable({{"A", "B"}, {"long"}}), "A     B\nlong\n");
}

}  // namespace
}  // namespace hookpipe::text
