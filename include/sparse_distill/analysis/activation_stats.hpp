#pragma once
// How often and how strongly each feature fires over a set of tokens (the post's Fig 4), the dead
// features, and L0.
#include "../config.hpp"
#include "../nn/student.hpp"
#include "detail/chunks.hpp"
#include "eval_tokens.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace sparse_distill::analysis {

struct feature_activation_stats {
    std::int64_t tokens = 0;
    std::vector<std::int64_t> fire_counts;   ///< per feature: tokens with a > 0
    std::vector<double> mean_activation;     ///< per feature: mean of a over all tokens (zeros included)
    std::vector<double> max_activation;      ///< per feature: largest a seen
    double l0 = 0;                           ///< mean number of features with a > 0 per token

    /// Fraction of tokens on which feature j fires.
    double frequency(std::size_t j) const { return tokens > 0 ? double(fire_counts[j]) / double(tokens) : 0.0; }
    std::int64_t dead() const {
        std::int64_t n = 0;
        for (std::int64_t c : fire_counts) n += c == 0;
        return n;
    }
    double dead_fraction() const { return fire_counts.empty() ? 0.0 : double(dead()) / double(fire_counts.size()); }
};

/// Statistics of the student's features over the rows of `inputs`, `chunk_rows` at a time.
template <class Scalar, class Backend>
feature_activation_stats activation_statistics(const student_mlp<Scalar, Backend>& student, const matrix<Scalar>& inputs,
                                               index_t chunk_rows = 4096) {
    const auto h = static_cast<std::size_t>(student.d_sae());
    feature_activation_stats s;
    s.tokens = inputs.rows();
    s.fire_counts.assign(h, 0);
    s.max_activation.assign(h, 0.0);
    std::vector<double> sums(h, 0.0);
    std::int64_t active = 0;
    detail::for_each_chunk(inputs.rows(), chunk_rows, [&](index_t first, index_t rows) {
        const matrix<Scalar> a = student.encode(inputs.middleRows(first, rows));
        // Features are independent columns: each thread owns a block of them and walks the rows, so
        // it reads contiguous row segments of the row-major activations.
        constexpr index_t block = 64;
        const index_t blocks = (a.cols() + block - 1) / block;
#pragma omp parallel for schedule(static) reduction(+ : active)
        for (index_t b = 0; b < blocks; ++b) {
            const index_t j0 = b * block, j1 = std::min(a.cols(), j0 + block);
            for (index_t r = 0; r < rows; ++r)
                for (index_t j = j0; j < j1; ++j) {
                    const auto jj = static_cast<std::size_t>(j);
                    const double v = a(r, j);
                    sums[jj] += v;
                    if (v > 0) {
                        ++s.fire_counts[jj];
                        ++active;
                    }
                    if (v > s.max_activation[jj]) s.max_activation[jj] = v;
                }
        }
    });
    s.mean_activation.resize(h);
    for (std::size_t j = 0; j < h; ++j) s.mean_activation[j] = s.tokens > 0 ? sums[j] / double(s.tokens) : 0.0;
    s.l0 = s.tokens > 0 ? double(active) / double(s.tokens) : 0.0;
    return s;
}

/// Histogram helper for Fig 4: log10 of each live feature's firing frequency (dead ones have none).
inline std::vector<double> log10_frequencies(const feature_activation_stats& s) {
    std::vector<double> out;
    for (std::size_t j = 0; j < s.fire_counts.size(); ++j)
        if (s.fire_counts[j] > 0) out.push_back(std::log10(s.frequency(j)));
    return out;
}

}  // namespace sparse_distill::analysis
