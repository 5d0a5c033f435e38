#pragma once
// Everything one Adam update needs besides the buffers: what a backend's adam_update receives.
#include <cstdint>

namespace sparse_distill::optim {

struct adam_update_args {
    double lr = 0;            ///< learning rate of this step (the schedule already applied)
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0;
    bool decoupled = true;    ///< AdamW (θ ← θ(1 − lr·wd)) rather than L2 added to the gradient
    std::int64_t step = 1;    ///< 1-based update count, for the bias corrections 1 − β^step
};

}  // namespace sparse_distill::optim
