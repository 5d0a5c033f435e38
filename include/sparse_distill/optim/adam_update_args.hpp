#pragma once
// Everything one Adam update needs besides the buffers: what a backend's adam_update receives.
#include "../nn/decoder_norm.hpp"

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

struct adam_update_args {
    double lr = 0;            ///< learning rate of this step (the schedule already applied)
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0;
    bool decoupled = true;    ///< AdamW (θ ← θ(1 − lr·wd)) rather than L2 added to the gradient
    std::int64_t step = 1;    ///< 1-based update count, for the bias corrections 1 − β^step
    constrained_rows constrain;  ///< the decoder constraint fused into the update (none by default)
};

}  // namespace sparse_distill::optim
