#pragma once
// CPU parameter updates: the Adam(W) step over a flat parameter buffer and the decoder-row constraint.
// Twin: cuda/adam.cuh.
#include "../../config.hpp"
#include "../../nn/decoder_norm.hpp"
#include "../../optim/adam_update_args.hpp"
#include "../../tensor/view.hpp"
#include "lane_sums.hpp"
#include "tag.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparse_distill::backend::cpu_system {

/// row /= max(1, ‖row‖) (cap) or row /= ‖row‖ (unit); the norm is accumulated in double.
template <class Scalar>
void constrain_row(Scalar* row, index_t cols, decoder_norm mode) {
    if (mode == decoder_norm::none) return;
    // Squares summed in double, in sum_lanes fixed lanes: vectorised (one running double serialised on
    // the add's latency, ~4 cycles an element) and in the same order whatever the row's address.
    double lanes[sum_lanes] = {};
    index_t c = 0;
    for (; c + sum_lanes <= cols; c += sum_lanes)
        for (index_t l = 0; l < sum_lanes; ++l) lanes[l] += double(row[c + l]) * double(row[c + l]);
    for (index_t l = 0; c < cols; ++c, ++l) lanes[l] += double(row[c]) * double(row[c]);
    double squared = 0;
    for (index_t l = 0; l < sum_lanes; ++l) squared += lanes[l];
    const double norm = std::sqrt(squared);
    // A zero row has no direction to keep: `unit` leaves it at zero rather than dividing by 0.
    const double divisor = mode == decoder_norm::cap ? std::max(1.0, norm) : (norm > 0 ? norm : 1.0);
    if (divisor == 1.0) return;
    for (index_t i = 0; i < cols; ++i) row[i] = Scalar(double(row[i]) / divisor);
}

/// The per-element constants of one Adam step.
template <class Scalar>
struct adam_constants {
    Scalar beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, inv_sqrt_bias2, eps, decay, decay_factor;
};

/// Adam over elements [first, last). The pointers are declared unaliased and the decay form is a template
/// parameter, so the loop vectorises: with a run-time branch and possibly aliased pointers GCC kept it
/// scalar, and Adam ran at half the memory bandwidth (config c, 2026-12-07).
template <bool Decoupled, class Scalar>
void adam_span(Scalar* __restrict params, const Scalar* __restrict grads, Scalar* __restrict m, Scalar* __restrict v,
               index_t first, index_t last, const adam_constants<Scalar>& k) {
    for (index_t i = first; i < last; ++i) {
        Scalar g = grads[i];
        if constexpr (!Decoupled) g += k.decay * params[i];
        const Scalar mi = k.beta1 * m[i] + k.one_minus_beta1 * g;
        const Scalar vi = k.beta2 * v[i] + k.one_minus_beta2 * g * g;
        m[i] = mi;
        v[i] = vi;
        const Scalar p = Decoupled ? params[i] * k.decay_factor : params[i];
        params[i] = p - k.step_size * mi / (std::sqrt(vi) * k.inv_sqrt_bias2 + k.eps);
    }
}

/// One Adam step on n parameters (see optim::adam for the formula). The bias corrections are applied
/// as torch does: θ −= (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε).
/// When args.constrain names rows (the decoder), each of those rows is constrained right after its
/// own update, in the same pass: the result is that of constrain_rows after the update, with the
/// decoder read and written once instead of twice.
template <class Scalar>
void adam_update(tag, Scalar* params, const Scalar* grads, Scalar* m, Scalar* v, index_t n,
                     const optim::adam_update_args& args) {
    const adam_constants<Scalar> k{Scalar(args.beta1),
                                   Scalar(args.beta2),
                                   Scalar(1 - args.beta1),
                                   Scalar(1 - args.beta2),
                                   Scalar(args.lr / (1 - std::pow(args.beta1, double(args.step)))),
                                   Scalar(1 / std::sqrt(1 - std::pow(args.beta2, double(args.step)))),
                                   Scalar(args.eps),
                                   Scalar(args.weight_decay),
                                   Scalar(1 - args.lr * args.weight_decay)};
    const bool decoupled = args.decoupled;
    const auto update = [&](index_t first, index_t last) {
        if (decoupled) adam_span<true>(params, grads, m, v, first, last, k);
        else adam_span<false>(params, grads, m, v, first, last, k);
    };
    // Blocks of rows that need more than the flat update: the constrained decoder rows, and the lazy blocks
    // (rows with a zero gradient skipped). Between and around them the buffer is updated flat.
    struct rows_block {
        index_t offset, rows, cols;
        bool lazy, constrain;
    };
    std::vector<rows_block> blocks;
    const optim::constrained_rows& constrained = args.constrain;
    if (constrained.mode != decoder_norm::none && constrained.rows > 0)
        blocks.push_back({index_t(constrained.offset), index_t(constrained.rows), index_t(constrained.cols), false, true});
    for (int b = 0; b < args.lazy.count; ++b) {
        const optim::row_block& lazy = args.lazy.blocks[static_cast<std::size_t>(b)];
        if (lazy.rows <= 0 || lazy.cols <= 0) continue;
        bool merged = false;
        for (rows_block& block : blocks)
            if (block.offset == index_t(lazy.offset) && block.rows == index_t(lazy.rows) && block.cols == index_t(lazy.cols))
                merged = block.lazy = true;
        if (!merged) blocks.push_back({index_t(lazy.offset), index_t(lazy.rows), index_t(lazy.cols), true, false});
    }
    std::sort(blocks.begin(), blocks.end(), [](const rows_block& a, const rows_block& b) { return a.offset < b.offset; });
    for (std::size_t b = 0; b < blocks.size(); ++b) {
        const index_t end = blocks[b].offset + blocks[b].rows * blocks[b].cols;
        if (blocks[b].offset < 0 || end > n || (b + 1 < blocks.size() && end > blocks[b + 1].offset))
            throw std::invalid_argument("adam_update: row blocks overlap or leave the " + std::to_string(n) + " parameters");
    }
    // Parameters are independent: threads take equal contiguous chunks, so memory streams stay sequential.
    constexpr index_t chunk = 16384;
    const auto flat = [&](index_t first, index_t last) {
        const index_t chunks = (last - first + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (last - first > 65536)
        for (index_t c = 0; c < chunks; ++c) update(first + c * chunk, std::min(last, first + (c + 1) * chunk));
    };
    index_t done = 0;
    for (const rows_block& block : blocks) {
        flat(done, block.offset);
        // Rows (features) are independent: each thread updates whole rows, normalising each while it is in cache.
#pragma omp parallel for schedule(static) if (block.rows * block.cols > 65536)
        for (index_t r = 0; r < block.rows; ++r) {
            const index_t first = block.offset + r * block.cols, last = first + block.cols;
            if (block.lazy && std::all_of(grads + first, grads + last, [](Scalar g) { return g == Scalar(0); })) continue;
            update(first, last);
            if (block.constrain) constrain_row(params + first, block.cols, constrained.mode);
        }
        done = block.offset + block.rows * block.cols;
    }
    flat(done, n);
}

/// Applies the decoder constraint to each row of w (one row per feature).
template <class Scalar>
void constrain_rows(tag, matrix_view<Scalar> w, decoder_norm mode) {
    // Rows (features) are independent: each thread normalises whole rows.
#pragma omp parallel for schedule(static) if (w.size() > 65536)
    for (index_t r = 0; r < w.rows; ++r) constrain_row(w.data + r * w.cols, w.cols, mode);
}

}  // namespace sparse_distill::backend::cpu_system
