#pragma once
// The sparse path of a ReLU student (issue 6): with an L1 penalty most activations are zero, so only
// the encoder's forward product needs to be dense. The decoder forward, ∂W_dec, ∂z and ∂W_enc use the
// active (token, feature) pairs alone: cost ~ L0·d per token instead of d_sae·d.
// Every sum runs in a fixed order (rows ascending within a feature), so results do not depend on the
// thread count. Twin: cuda/sparse.cuh.
#include "../../tensor/view.hpp"
#include "lane_sums.hpp"
#include "tag.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace sparse_distill::backend::cpu_system {

/// The active pairs of a [rows, h] activation matrix, by row (CSR) and by feature (CSC).
struct active_pattern {
    std::vector<index_t> row_start;      ///< [rows + 1]: pairs of row r are [row_start[r], row_start[r+1])
    std::vector<index_t> feature;        ///< [nnz]: the feature of each pair, by row
    std::vector<index_t> feature_start;  ///< [h + 1]: pairs of feature j, by feature
    std::vector<index_t> by_feature;     ///< [nnz]: the by-row index of each pair, in feature order
    std::vector<index_t> row;            ///< [nnz]: the row of each pair, by row
    std::vector<double> value;           ///< [nnz]: the activation of each pair, by row (exact for float and double)
    std::vector<double> dz;              ///< [nnz]: ∂loss/∂z of each pair (by row), set by the backward pass
    std::vector<double> dz_sum;          ///< [h]: Σ_r ∂z_rj, set by the backward pass

    index_t nnz() const { return row_start.empty() ? 0 : row_start.back(); }
};

/// Builds the pattern of a > 0. The vectors keep their capacity, so a steady state does not allocate.
template <class Scalar>
void collect_active(tag, matrix_view<const Scalar> a, active_pattern& p) {
    const index_t rows = a.rows, h = a.cols;
    p.row_start.assign(static_cast<std::size_t>(rows + 1), 0);
    // Rows are independent: each counts its own active features.
#pragma omp parallel for schedule(static) if (rows * h > 32768)
    for (index_t r = 0; r < rows; ++r) {
        index_t n = 0;
        for (index_t j = 0; j < h; ++j) n += a.data[r * h + j] > Scalar(0);
        p.row_start[static_cast<std::size_t>(r + 1)] = n;
    }
    for (index_t r = 0; r < rows; ++r) p.row_start[static_cast<std::size_t>(r + 1)] += p.row_start[static_cast<std::size_t>(r)];
    p.feature.resize(static_cast<std::size_t>(p.nnz()));
    p.row.resize(p.feature.size());
    p.value.resize(p.feature.size());
    // Rows are independent: each fills its own slice.
#pragma omp parallel for schedule(static) if (rows * h > 32768)
    for (index_t r = 0; r < rows; ++r) {
        index_t k = p.row_start[static_cast<std::size_t>(r)];
        for (index_t j = 0; j < h; ++j)
            if (a.data[r * h + j] > Scalar(0)) {
                p.row[static_cast<std::size_t>(k)] = r;
                p.value[static_cast<std::size_t>(k)] = double(a.data[r * h + j]);
                p.feature[static_cast<std::size_t>(k++)] = j;
            }
    }
    // Counting sort by feature; rows stay ascending within a feature.
    p.feature_start.assign(static_cast<std::size_t>(h + 1), 0);
    for (index_t j : p.feature) ++p.feature_start[static_cast<std::size_t>(j + 1)];
    for (index_t j = 0; j < h; ++j) p.feature_start[static_cast<std::size_t>(j + 1)] += p.feature_start[static_cast<std::size_t>(j)];
    p.by_feature.resize(p.feature.size());
    for (index_t k = 0; k < p.nnz(); ++k)  // feature_start[j] walks to feature_start[j + 1] here …
        p.by_feature[static_cast<std::size_t>(p.feature_start[static_cast<std::size_t>(p.feature[static_cast<std::size_t>(k)])]++)] = k;
    for (index_t j = h; j > 0; --j)  // … and is shifted back
        p.feature_start[static_cast<std::size_t>(j)] = p.feature_start[static_cast<std::size_t>(j - 1)];
    p.feature_start[0] = 0;
    p.dz.resize(p.feature.size());
}

/// y = a·W_dec from the active pairs only (y is overwritten; biases are added by the caller).
template <class Scalar>
void sparse_decode(tag, matrix_view<const Scalar> a, const active_pattern& p, matrix_view<const Scalar> w_dec,
                       matrix_view<Scalar> y) {
    const index_t d = w_dec.cols, h = a.cols;
    // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (a.rows * d > 32768)
    for (index_t r = 0; r < a.rows; ++r) {
        Scalar* out = y.data + r * d;
        std::fill(out, out + d, Scalar(0));
        for (index_t k = p.row_start[static_cast<std::size_t>(r)]; k < p.row_start[static_cast<std::size_t>(r + 1)]; ++k) {
            const index_t j = p.feature[static_cast<std::size_t>(k)];
            const Scalar v = a.data[r * h + j];
            const Scalar* w = w_dec.data + j * d;
            for (index_t c = 0; c < d; ++c) out[c] += v * w[c];
        }
    }
}

/// The student's backward pass on the active pairs (ReLU, so act'(z) = 1 exactly where a > 0):
///   ∂z_rj = ∂ŷ_r·W_dec_j + l1_grad on active pairs (0 elsewhere), kept in p.dz;
///   ∂W_dec_j = Σ_r a_rj ∂ŷ_r,  ∂W_enc_j = Σ_r ∂z_rj x̃_r,  p.dz_sum_j = Σ_r ∂z_rj (rows of inactive features are 0).
template <class Scalar>
void sparse_backward(tag, matrix_view<const Scalar> a, active_pattern& p, matrix_view<const Scalar> dy,
                         matrix_view<const Scalar> w_dec, matrix_view<const Scalar> x, Scalar l1_grad,
                         matrix_view<Scalar> w_dec_grad, matrix_view<Scalar> w_enc_grad) {
    const index_t h = a.cols, d_out = dy.cols, d_in = x.cols;
    // Rows are independent: each computes the ∂z of its own pairs.
#pragma omp parallel for schedule(static) if (a.rows * d_out > 32768)
    for (index_t r = 0; r < a.rows; ++r)
        for (index_t k = p.row_start[static_cast<std::size_t>(r)]; k < p.row_start[static_cast<std::size_t>(r + 1)]; ++k) {
            // A Scalar dot product in a fixed lane order: vectorised, and the same on every run.
            p.dz[static_cast<std::size_t>(k)] =
                lane_dot(dy.data + r * d_out, w_dec.data + p.feature[static_cast<std::size_t>(k)] * d_out, d_out) + double(l1_grad);
        }
    p.dz_sum.assign(static_cast<std::size_t>(h), 0.0);
    // Features are independent: each thread owns whole rows of both weight gradients.
#pragma omp parallel for schedule(dynamic, 64) if (h * (d_in + d_out) > 32768)
    for (index_t j = 0; j < h; ++j) {
        Scalar* gd = w_dec_grad.data + j * d_out;
        Scalar* ge = w_enc_grad.data + j * d_in;
        std::fill(gd, gd + d_out, Scalar(0));
        std::fill(ge, ge + d_in, Scalar(0));
        double sum = 0;
        for (index_t q = p.feature_start[static_cast<std::size_t>(j)]; q < p.feature_start[static_cast<std::size_t>(j + 1)]; ++q) {
            const index_t k = p.by_feature[static_cast<std::size_t>(q)];
            const index_t r = p.row[static_cast<std::size_t>(k)];
            // The activation from the pattern: reading a[r, j] here, a column walk through a [rows, h]
            // matrix, missed the cache and the TLB on every pair (10× the part's bound at config b).
            const Scalar av = static_cast<Scalar>(p.value[static_cast<std::size_t>(k)]);
            const Scalar dz = static_cast<Scalar>(p.dz[static_cast<std::size_t>(k)]);
            const Scalar* g = dy.data + r * d_out;
            const Scalar* xr = x.data + r * d_in;
            for (index_t c = 0; c < d_out; ++c) gd[c] += av * g[c];
            for (index_t c = 0; c < d_in; ++c) ge[c] += dz * xr[c];
            sum += p.dz[static_cast<std::size_t>(k)];
        }
        p.dz_sum[static_cast<std::size_t>(j)] = sum;
    }
}

/// The bias gradients of the sparse path, from p.dz_sum (Σ_r ∂z_r, set by sparse_backward):
///   b_enc_grad = Σ_r ∂z_r  (skipped when empty);
///   pre_grad  = −(Σ_r ∂z_r)·W_enc, or pre_grad += that when `accumulate` (the pre-bias tied to b_dec;
///   skipped when empty). The product is accumulated in double over features in order.
template <class Scalar>
void sparse_bias_gradients(tag, const active_pattern& p, matrix_view<const Scalar> w_enc, vector_view<Scalar> b_enc_grad,
                               vector_view<Scalar> pre_grad, bool accumulate) {
    const index_t h = w_enc.rows, d_in = w_enc.cols;
    for (index_t j = 0; j < b_enc_grad.size; ++j) b_enc_grad.data[j] = static_cast<Scalar>(p.dz_sum[static_cast<std::size_t>(j)]);
    if (pre_grad.empty()) return;
    std::vector<double> g(static_cast<std::size_t>(d_in), 0.0);
    for (index_t j = 0; j < h; ++j) {
        const double s = p.dz_sum[static_cast<std::size_t>(j)];
        if (s != 0)
            for (index_t c = 0; c < d_in; ++c) g[static_cast<std::size_t>(c)] += s * double(w_enc.data[j * d_in + c]);
    }
    for (index_t c = 0; c < d_in; ++c) {
        const Scalar v = static_cast<Scalar>(-g[static_cast<std::size_t>(c)]);
        pre_grad.data[c] = accumulate ? pre_grad.data[c] + v : v;
    }
}

}  // namespace sparse_distill::backend::cpu_system
