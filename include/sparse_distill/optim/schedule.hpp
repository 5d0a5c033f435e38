#pragma once
// Learning-rate schedule: a pure function of the step (0-based).
//   lr(t) = lr·(t+1)/W                                          for t < W (linear warmup)
//         = lr·(r + (1−r)·½(1 + cos(π·(t−W)/max(1, T−W))))      otherwise (cosine decay to r·lr)
// with W = warmup_steps, T = total_steps, r = lr_min_ratio. Past T the rate stays at r·lr.
#include "../config.hpp"
#include "../detail/json_fields.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <stdexcept>

namespace sparse_distill::optim {

struct warmup_cosine {
    double lr = 1e-3;
    std::int64_t warmup_steps = 0;
    std::int64_t total_steps = 0;  ///< 0: the trainer fills in its run's step count
    double lr_min_ratio = 0.1;  ///< 1 gives a constant rate after warmup

    void validate() const {
        if (!(lr >= 0)) throw std::invalid_argument("warmup_cosine: lr must be non-negative");
        if (warmup_steps < 0 || total_steps < 0)
            throw std::invalid_argument("warmup_cosine: warmup_steps and total_steps must be non-negative");
        if (!(lr_min_ratio >= 0 && lr_min_ratio <= 1))
            throw std::invalid_argument("warmup_cosine: lr_min_ratio must lie in [0, 1]");
    }

    /// The rate used by update number `step` (0-based).
    double operator()(std::int64_t step) const {
        if (step < warmup_steps) return lr * double(step + 1) / double(warmup_steps);
        const double span = double(std::max<std::int64_t>(1, total_steps - warmup_steps));
        const double progress = std::min(1.0, double(step - warmup_steps) / span);
        return lr * (lr_min_ratio + (1 - lr_min_ratio) * 0.5 * (1 + std::cos(std::numbers::pi * progress)));
    }

    bool operator==(const warmup_cosine&) const = default;
};

/// warmup_cosine as JSON: one key per field, the field's name; from_json as student_config's.
template <class Json>
void to_json(Json& j, const warmup_cosine& s) {
    j = Json{{"lr", s.lr}, {"warmup_steps", s.warmup_steps}, {"total_steps", s.total_steps}, {"lr_min_ratio", s.lr_min_ratio}};
}
template <class Json>
void from_json(const Json& j, warmup_cosine& s) {
    sparse_distill::detail::json_fields<Json> field(j, "warmup_cosine");
    field("lr", s.lr)("warmup_steps", s.warmup_steps)("total_steps", s.total_steps)("lr_min_ratio", s.lr_min_ratio);
    field.refuse_other_keys();
}

}  // namespace sparse_distill::optim
