#pragma once
// Which teacher neuron each student feature resembles (the post's Figs 2 and 3): for every row of one
// matrix, the most cosine-similar row of another.
#include "../nn/mlp_weights.hpp"
#include "../nn/student_weights.hpp"
#include "../tensor/matrix.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparse_distill::analysis {

/// The best candidate for one vector: its cosine similarity and index (−1 when there is no
/// candidate, or the vector or every candidate is zero).
struct best_match {
    double cosine = 0;
    index_t index = -1;
};

/// For each row u_j of `rows`, max_k cos(u_j, v_k) over the rows v_k of `candidates`, and the argmax.
/// Signed: a feature writing the opposite of a neuron's direction is not a copy of it.
/// Zero rows (and zero candidates) have no direction and match nothing.
template <class Scalar>
std::vector<best_match> best_cosine_matches(const matrix<Scalar>& rows, const matrix<Scalar>& candidates) {
    if (rows.cols() != candidates.cols())
        throw std::invalid_argument("best_cosine_matches: vectors have " + std::to_string(rows.cols()) +
                                    " entries but candidates have " + std::to_string(candidates.cols()));
    const auto unit_rows = [](const matrix<Scalar>& m) {
        matrix<double> u = m.template cast<double>();
        for (index_t r = 0; r < u.rows(); ++r) {
            const double n = u.row(r).norm();
            if (n > 0) u.row(r) /= n;
        }
        return u;
    };
    const matrix<double> u = unit_rows(rows), v = unit_rows(candidates);
    // A zero candidate has no direction: it must never win, even against all-negative cosines.
    std::vector<index_t> live;
    for (index_t k = 0; k < v.rows(); ++k)
        if (v.row(k).squaredNorm() > 0) live.push_back(k);
    std::vector<best_match> best(static_cast<std::size_t>(rows.rows()));
    if (live.empty()) return best;
    matrix<double> live_v(static_cast<index_t>(live.size()), v.cols());
    for (std::size_t i = 0; i < live.size(); ++i) live_v.row(static_cast<index_t>(i)) = v.row(live[i]);
    // Blocks of rows bound the cosine matrix's memory (d_sae × d_mlp doubles at once would not fit
    // for large models).
    constexpr index_t block = 1024;
    for (index_t first = 0; first < u.rows(); first += block) {
        const index_t n = std::min(block, u.rows() - first);
        const matrix<double> cos = u.middleRows(first, n) * live_v.transpose();
        for (index_t r = 0; r < n; ++r) {
            if (u.row(first + r).squaredNorm() == 0) continue;
            index_t k = 0;
            const double c = cos.row(r).maxCoeff(&k);
            best[static_cast<std::size_t>(first + r)] = {c, live[static_cast<std::size_t>(k)]};
        }
    }
    return best;
}

/// Fig 2: each student feature's decoder vector (row of w_dec) against the teacher neurons' output
/// vectors (rows of w_out, i.e. the columns of the post's W_out).
template <class Scalar>
std::vector<best_match> decoder_similarity(const student_weights<Scalar>& student, const mlp_weights<Scalar>& teacher) {
    return best_cosine_matches(student.w_dec, teacher.w_out);
}

/// Fig 3: each student feature's encoder vector (row of w_enc) against the teacher neurons' input
/// vectors (rows of w_in). Meaningful only when the student reads the teacher's input space.
template <class Scalar>
std::vector<best_match> encoder_similarity(const student_weights<Scalar>& student, const mlp_weights<Scalar>& teacher) {
    return best_cosine_matches(student.w_enc, teacher.w_in);
}

/// Mean of the cosines of the matches that exist (NaN for none): the summary of Figs 2 and 3.
inline double mean_cosine(const std::vector<best_match>& matches) {
    double sum = 0;
    std::size_t n = 0;
    for (const auto& m : matches)
        if (m.index >= 0) sum += m.cosine, ++n;
    return n > 0 ? sum / double(n) : std::numeric_limits<double>::quiet_NaN();
}

/// For a gated (SwiGLU) teacher, the encoder against the up projection's rows (W3) as well: a
/// neuron's activation silu(w_in·x)·(w_up·x) reads two directions. Empty for a plain teacher.
template <class Scalar>
std::vector<best_match> encoder_up_similarity(const student_weights<Scalar>& student, const mlp_weights<Scalar>& teacher) {
    if (!teacher.gated()) return {};
    return best_cosine_matches(student.w_enc, teacher.w_up);
}

}  // namespace sparse_distill::analysis
