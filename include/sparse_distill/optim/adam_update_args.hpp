#pragma once
// Everything one Adam update needs besides the buffers: what a backend's adam_update receives.
#include "../nn/decoder_norm.hpp"

#include <array>
#include <cstdint>

namespace sparse_distill::optim {

/// Rows of the flat parameter buffer (the decoder) whose norm constraint is applied right after their
/// Adam update, in the same pass, while each row is still in cache. mode none: no rows.
struct constrained_rows {
    std::int64_t offset = 0;  ///< first element of row 0 in the flat buffer
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    decoder_norm mode = decoder_norm::none;
};

/// A block of equal rows of the flat parameter buffer: `rows` rows of `cols` elements from `offset`.
struct row_block {
    std::int64_t offset = 0;
    std::int64_t rows = 0;
    std::int64_t cols = 0;
};

/// The blocks updated lazily (adam::lazy_silent_features): within them a row whose gradient is exactly
/// zero this step is left as it is — parameters, both moments, and the weight decay — as PyTorch's
/// SparseAdam leaves the rows a sparse gradient does not name. A student's per-feature rows (W_enc's rows,
/// b_enc's entries, W_dec's rows) are such blocks: a feature that fired on no token has zero gradient.
struct lazy_rows {
    std::array<row_block, 3> blocks{};
    int count = 0;
};

struct adam_update_args {
    double lr = 0;            ///< learning rate of this step (the schedule already applied)
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0;
    bool decoupled = true;    ///< AdamW (θ ← θ(1 − lr·wd)) rather than L2 added to the gradient
    std::int64_t step = 1;    ///< 1-based update count, for the bias corrections 1 − β^step
    constrained_rows constrain;  ///< the decoder constraint fused into the update (none by default)
    lazy_rows lazy;              ///< rows skipped when their gradient is zero (none by default: exact Adam)
};

}  // namespace sparse_distill::optim
