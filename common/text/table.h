#pragma once

// Rows of text as aligned columns, for the command-line tools' listings
// (`hookpipe deliveries list`, `hookpipe dlq list`, ...).
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace hookpipe::text {

// One line per row, each column as wide as its widest cell and two spaces apart; the last
// column is not padded. Rows may be of any number of columns; none is fine.
inline std::string formatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i)
      out += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], width[i]) : row[i];
    out += '\n';
  }
  return out;
}

}  // namespace hookpipe::text
