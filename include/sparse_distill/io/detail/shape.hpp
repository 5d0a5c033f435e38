#pragma once
// Shape arithmetic shared by the readers and writers: sizes come from untrusted headers, so the
// products are computed with overflow checks instead of trusting them to fit.
#include "../../detail/internal_header_check.hpp"
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>

namespace sparse_distill::io::detail {

// numel · element_size for a shape of non-negative extents, or nothing when it overflows.
inline std::optional<std::uint64_t> byte_count(std::span<const std::int64_t> shape, std::size_t element_size) {
    // A zero extent anywhere makes the tensor empty, even if the other extents alone would overflow.
    for (const auto extent : shape)
        if (extent == 0) return 0;
    constexpr auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    std::uint64_t total = element_size;
    for (const auto extent : shape) {
        const auto e = static_cast<std::uint64_t>(extent);
        if (total > limit / e) return std::nullopt;
        total *= e;
    }
    if (total > std::numeric_limits<std::size_t>::max()) return std::nullopt;
    return total;
}

// "[3, 4]"; "[]" for a scalar.
inline std::string shape_string(std::span<const std::int64_t> shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) text += ", ";
        text += std::to_string(shape[i]);
    }
    return text + "]";
}

}  // namespace sparse_distill::io::detail
