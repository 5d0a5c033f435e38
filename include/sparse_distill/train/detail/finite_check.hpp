#pragma once
// Cheap finiteness tests for every batch: Σ 0·x is 0 when every x is finite and NaN as soon as one is
// NaN or ±Inf (0·Inf = NaN), so one vectorised reduction answers "all finite?" without branches and
// without the overflow false alarms a plain Σ x would give. Locating the bad entry is the slow path.
#include "../../detail/internal_header_check.hpp"
#include "../../tensor/matrix.hpp"

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

namespace sparse_distill::detail {

template <class Scalar>
bool all_finite(const Scalar* values, index_t count) {
    if (count == 0) return true;
    return !std::isnan((const_vector_map<Scalar>(values, count).array() * Scalar(0)).sum());
}

// (row, column) of the first non-finite entry of a row-major [rows, cols] block, if any.
template <class Scalar>
std::optional<std::pair<index_t, index_t>> first_non_finite(const Scalar* values, index_t rows, index_t cols) {
    for (index_t r = 0; r < rows; ++r)
        for (index_t c = 0; c < cols; ++c)
            if (!std::isfinite(values[r * cols + c])) return std::pair(r, c);
    return std::nullopt;
}

inline std::string number_text(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", value);
    return text;
}

}  // namespace sparse_distill::detail
