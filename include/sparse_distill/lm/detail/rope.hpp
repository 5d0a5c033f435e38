#pragma once
// The rotary angle as llama2.c defines it: within each head, the pair i of a query or key at position
// pos is rotated by pos · 10000^(−2i/head_size). The checkpoint reader checks a file's stored RoPE
// tables against it; the decoder computes its own tables (decoder_ops.hpp's rotary_table).
#include "../../detail/internal_header_check.hpp"

#include <cmath>

namespace sparse_distill::lm::detail {

// Angle of RoPE pair `pair` at position `pos`, in double so tables computed from it agree with any
// float32 computation of it to rounding.
inline double rope_angle(int pos, int pair, int head_size) { return pos * std::pow(10000.0, -2.0 * pair / head_size); }

}  // namespace sparse_distill::lm::detail
