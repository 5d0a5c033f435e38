#pragma once
// Cosine similarity between vectors, the basic measure of the post's analyses.
#include "../tensor/matrix.hpp"

#include <cmath>

namespace sparse_distill::analysis {

/// cos(u, v) = u·v / (‖u‖‖v‖); 0 when either vector is zero (no direction to compare).
template <class DerivedU, class DerivedV>
double cosine_similarity(const Eigen::MatrixBase<DerivedU>& u, const Eigen::MatrixBase<DerivedV>& v) {
    const double nu = u.template cast<double>().norm(), nv = v.template cast<double>().norm();
    if (nu == 0 || nv == 0) return 0;
    return u.template cast<double>().dot(v.template cast<double>()) / (nu * nv);
}

}  // namespace sparse_distill::analysis
