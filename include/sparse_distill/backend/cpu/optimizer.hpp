#pragma once
// CPU parameter updates: the Adam(W) step over a flat parameter buffer and the decoder-row constraint.
#include "../../config.hpp"
#include "../../nn/decoder_norm.hpp"
#include "../../optim/adam_update_args.hpp"
#include "../../tensor/view.hpp"

#include <cmath>

namespace sparse_distill::backend::detail {

/// One Adam step on n parameters (see optim::adam for the formula). The bias corrections are applied
/// as torch does: θ −= (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε).
template <class Scalar>
void cpu_adam_update(Scalar* params, const Scalar* grads, Scalar* m, Scalar* v, index_t n,
                     const optim::adam_update_args& args) {
    const Scalar beta1 = Scalar(args.beta1), beta2 = Scalar(args.beta2);
    const Scalar one_minus_beta1 = Scalar(1 - args.beta1), one_minus_beta2 = Scalar(1 - args.beta2);
    const Scalar step_size = Scalar(args.lr / (1 - std::pow(args.beta1, double(args.step))));
    const Scalar inv_sqrt_bias2 = Scalar(1 / std::sqrt(1 - std::pow(args.beta2, double(args.step))));
    const Scalar eps = Scalar(args.eps);
    const Scalar decay = Scalar(args.weight_decay);
    const Scalar decay_factor = Scalar(1 - args.lr * args.weight_decay);
    const bool decoupled = args.decoupled;
    // Each parameter is independent; a flat static split keeps memory streams contiguous per thread.
#pragma omp parallel for schedule(static) if (n > 65536)
    for (index_t i = 0; i < n; ++i) {
        Scalar g = grads[i];
        if (!decoupled) g += decay * params[i];
        m[i] = beta1 * m[i] + one_minus_beta1 * g;
        v[i] = beta2 * v[i] + one_minus_beta2 * g * g;
        Scalar p = decoupled ? params[i] * decay_factor : params[i];
        params[i] = p - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bias2 + eps);
    }
}

/// Applies the decoder constraint to each row of w (one row per feature).
template <class Scalar>
void cpu_constrain_rows(matrix_view<Scalar> w, decoder_norm mode) {
    if (mode == decoder_norm::none) return;
    // Rows (features) are independent: each thread normalises whole rows.
#pragma omp parallel for schedule(static) if (w.size() > 65536)
    for (index_t r = 0; r < w.rows; ++r) {
        Scalar* row = w.data + r * w.cols;
        double squared = 0;
        for (index_t c = 0; c < w.cols; ++c) squared += double(row[c]) * double(row[c]);
        const double norm = std::sqrt(squared);
        // A zero row has no direction to keep: `unit` leaves it at zero rather than dividing by 0.
        const double divisor = mode == decoder_norm::cap ? std::max(1.0, norm) : (norm > 0 ? norm : 1.0);
        if (divisor == 1.0) continue;
        for (index_t c = 0; c < w.cols; ++c) row[c] = Scalar(double(row[c]) / divisor);
    }
}

}  // namespace sparse_distill::backend::detail
