#pragma once
// The CPU passes of the sparse architectures (nn/sparsity.hpp), on [batch, d_sae] matrices:
//   keep_top_k_per_row:  TopK, zero all but the k largest entries of each row;
//   keep_top_k_of_batch: BatchTopK, zero all but the K largest entries of the whole matrix;
//   jump_activate:       JumpReLU, z += bias; a = z·H(z − θ);
//   threshold_gradient:  JumpReLU's straight-through gradient of log θ (rectangle kernel);
//   masked_relu:         relu of the columns a mask selects (AuxK's dead latents).
// A selection finds the k-th largest value v with nth_element (linear time, no sort of the row) and
// keeps every entry ≥ v: ties at v are all kept, the same rule as the CUDA twin's radix select, so
// both backends keep the same entries. Twin: cuda/selection.cuh.
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "../activation_sums.hpp"
#include "lane_sums.hpp"
#include "parallel.hpp"
#include "tag.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

namespace sparse_distill::backend::cpu_system {

namespace detail {
/// The k-th largest of values[0, n) (1 ≤ k ≤ n); reorders `values`.
template <class Scalar>
Scalar kth_largest(Scalar* values, index_t n, index_t k) {
    std::nth_element(values, values + (k - 1), values + n, std::greater<Scalar>());
    return values[k - 1];
}

/// Zeroes the entries of row[0, n) below `keep_from`; returns Σ|kept| and #(kept > 0).
template <class Scalar>
activation_sums zero_below(Scalar* row, index_t n, Scalar keep_from) {
    for (index_t j = 0; j < n; ++j)
        if (row[j] < keep_from) row[j] = Scalar(0);
    activation_sums s;
    s.abs_sum = lane_sum_abs(row, n);
    for (index_t j = 0; j < n; ++j) s.positive_count += row[j] > Scalar(0) ? 1.0 : 0.0;
    return s;
}
}  // namespace detail

/// Keeps the k largest entries of each row of a (and ties at the k-th), zeroing the rest; returns
/// Σ|a| and #(a > 0) of what is kept.
template <class Scalar>
activation_sums keep_top_k_per_row(tag, matrix_view<Scalar> a, index_t k) {
    std::vector<double>& partials = row_partials(a.rows, 2);
    const index_t cols = a.cols;
    // Rows (tokens) are independent; each thread selects in a copy of its row.
#pragma omp parallel if (worth_threads(a.size()))
    {
        std::vector<Scalar> copy(static_cast<std::size_t>(cols));
#pragma omp for schedule(static)
        for (index_t r = 0; r < a.rows; ++r) {
            Scalar* row = a.data + r * cols;
            std::copy(row, row + cols, copy.begin());
            const activation_sums s = detail::zero_below(row, cols, detail::kth_largest(copy.data(), cols, k));
            partials[2 * r] = s.abs_sum;
            partials[2 * r + 1] = s.positive_count;
        }
    }
    return sum_row_activation_partials(partials, a.rows);
}

/// Keeps the `kept` largest entries of the whole matrix a (and ties at the kept-th), zeroing the rest.
template <class Scalar>
batch_selection keep_top_k_of_batch(tag, matrix_view<Scalar> a, index_t kept) {
    const index_t n = a.size();
    std::vector<Scalar> copy(a.data, a.data + n);
    const Scalar keep_from = detail::kth_largest(copy.data(), n, kept);
    batch_selection result;
    result.sums = detail::zero_below(a.data, n, keep_from);
    if (keep_from > Scalar(0)) {
        result.smallest_kept = static_cast<double>(keep_from);
    } else {
        Scalar smallest = std::numeric_limits<Scalar>::infinity();
        for (index_t i = 0; i < n; ++i)
            if (a.data[i] > Scalar(0)) smallest = std::min(smallest, a.data[i]);
        result.smallest_kept = std::isinf(smallest) ? 0.0 : static_cast<double>(smallest);
    }
    return result;
}

/// z += bias (if not empty); a = z·H(z − θ_j) with θ_j = exp(log_threshold_j), or θ = `threshold` for
/// every column when log_threshold is empty. Returns Σ|a| and #(a > 0). z and a may not alias.
template <class Scalar>
activation_sums jump_activate(tag, matrix_view<Scalar> z, vector_view<const Scalar> bias, vector_view<const Scalar> log_threshold,
                              Scalar threshold, matrix_view<Scalar> a) {
    const index_t cols = z.cols;
    std::vector<Scalar> theta(static_cast<std::size_t>(cols), threshold);
    if (!log_threshold.empty())
        for (index_t j = 0; j < cols; ++j) theta[j] = std::exp(log_threshold.data[j]);
    std::vector<double>& partials = row_partials(z.rows, 2);
    // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (worth_threads(z.size()))
    for (index_t r = 0; r < z.rows; ++r) {
        Scalar* zr = z.data + r * cols;
        Scalar* ar = a.data + r * cols;
        double count = 0;
        for (index_t j = 0; j < cols; ++j) {
            if (!bias.empty()) zr[j] += bias.data[j];
            const bool open = zr[j] > theta[j];
            ar[j] = open ? zr[j] : Scalar(0);
            count += open && ar[j] > Scalar(0) ? 1.0 : 0.0;
        }
        partials[2 * r] = lane_sum_abs(ar, cols);
        partials[2 * r + 1] = count;
    }
    return sum_row_activation_partials(partials, z.rows);
}

/// JumpReLU's gradient of log θ (θ = exp(log_threshold)), with K(u) = 1 for |u| < ½:
///   out_j = θ_j · Σ_b K((pre_bj − θ_j)/ε) · (−(θ_j/ε)·da_bj − l0_grad/ε)
/// da = ∂loss/∂a before the activation's mask, l0_grad = ∂loss/∂(Σ_bj H(pre − θ)). Returns the number
/// of entries inside the kernel's window (|pre − θ| < ε/2).
template <class Scalar>
double threshold_gradient(tag, matrix_view<const Scalar> da, matrix_view<const Scalar> pre, vector_view<const Scalar> log_threshold,
                          Scalar bandwidth, Scalar l0_grad, vector_view<Scalar> out) {
    const index_t cols = pre.cols;
    std::vector<double> window(static_cast<std::size_t>(cols), 0.0);
    // Columns (latents) are independent: each sums its own batch column in row order, whatever the threads.
#pragma omp parallel for schedule(static) if (worth_threads(pre.size()))
    for (index_t j = 0; j < cols; ++j) {
        const Scalar theta = std::exp(log_threshold.data[j]);
        Scalar g = 0;
        for (index_t r = 0; r < pre.rows; ++r) {
            const Scalar u = (pre.data[r * cols + j] - theta) / bandwidth;
            if (u > Scalar(-0.5) && u < Scalar(0.5)) {
                g += -(theta / bandwidth) * da.data[r * cols + j] - l0_grad / bandwidth;
                window[j] += 1;
            }
        }
        out.data[j] = theta * g;
    }
    double in_window = 0;
    for (const double w : window) in_window += w;
    return in_window;
}

/// out_bj = max(in_bj, 0) where column_mask_j ≠ 0, else 0.
template <class Scalar>
void masked_relu(tag, matrix_view<const Scalar> in, vector_view<const Scalar> column_mask, matrix_view<Scalar> out) {
    const index_t cols = in.cols;
    // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (worth_threads(in.size()))
    for (index_t r = 0; r < in.rows; ++r)
        for (index_t j = 0; j < cols; ++j) {
            const Scalar v = in.data[r * cols + j];
            out.data[r * cols + j] = column_mask.data[j] != Scalar(0) && v > Scalar(0) ? v : Scalar(0);
        }
}

}  // namespace sparse_distill::backend::cpu_system
