#pragma once
// Which teacher neuron each student feature resembles (the post's Figs 2 and 3): for every row of one
// matrix, the most cosine-similar row of another.
#include "../nn/mlp_weights.hpp"
#include "../nn/student_weights.hpp"
#include "../tensor/matrix.hpp"

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
    const matrix<double> cos = u * v.transpose();
    std::vector<best_match> best(static_cast<std::size_t>(rows.rows()));
    for (index_t j = 0; j < cos.rows(); ++j) {
        if (u.row(j).squaredNorm() == 0 || cos.cols() == 0) continue;
        index_t k = 0;
        const double c = cos.row(j).maxCoeff(&k);
        if (v.row(k).squaredNorm() == 0) continue;  // every candidate is zero
        best[static_cast<std::size_t>(j)] = {c, k};
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

}  // namespace sparse_distill::analysis
