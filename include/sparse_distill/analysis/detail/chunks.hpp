#pragma once
// Analyses read evaluation sets in blocks of rows so that the activations of one block (rows × d_sae)
// bound their memory, whatever the number of tokens.
#include "../../detail/internal_header_check.hpp"
#include "../../tensor/matrix.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sparse_distill::analysis::detail {

/// Calls visit(first_row, rows) for consecutive blocks of at most `chunk` rows covering [0, n).
template <class Visit>
void for_each_chunk(index_t n, index_t chunk, Visit&& visit) {
    if (chunk <= 0) throw std::invalid_argument("analysis: chunk_rows must be positive (got " + std::to_string(chunk) + ")");
    for (index_t first = 0; first < n; first += chunk) visit(first, std::min(chunk, n - first));
}

/// Throws std::invalid_argument unless `size` equals `expected`, naming both.
inline void expect_size(const char* where, const char* what, std::size_t size, std::size_t expected) {
    if (size != expected)
        throw std::invalid_argument(std::string(where) + ": " + what + " has " + std::to_string(size) + " entries, expected " +
                                    std::to_string(expected));
}

}  // namespace sparse_distill::analysis::detail
