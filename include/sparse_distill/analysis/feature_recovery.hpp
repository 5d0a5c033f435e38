#pragma once
// With planted features (data/planted_features.hpp) the true directions are known: how well did a
// model find them? For each planted direction, the best cosine similarity to any of the model's
// vectors (optionally only those of one feature type); the mean over planted directions.
#include "../nn/teacher.hpp"
#include "feature_types.hpp"
#include "similarity.hpp"

#include <vector>

namespace sparse_distill::analysis {

struct feature_recovery {
    std::vector<best_match> per_planted;  ///< best model vector for each planted direction
    double mean_best_cosine = 0;
};

/// Best cosine of each planted direction (row of `planted`) to the rows of `vectors` whose feature
/// type is in `allowed` (all rows when `types` is empty).
template <class Scalar>
feature_recovery recover_features(const matrix<Scalar>& planted, const matrix<Scalar>& vectors,
                                  const std::vector<feature_type>& types = {},
                                  std::initializer_list<feature_type> allowed = {feature_type::neuron_simulator,
                                                                                 feature_type::sparse_feature,
                                                                                 feature_type::dead}) {
    std::vector<index_t> keep;
    for (index_t j = 0; j < vectors.rows(); ++j) {
        if (!types.empty()) {
            bool ok = false;
            for (feature_type t : allowed) ok = ok || types[static_cast<std::size_t>(j)] == t;
            if (!ok) continue;
        }
        keep.push_back(j);
    }
    matrix<Scalar> subset(static_cast<index_t>(keep.size()), vectors.cols());
    for (std::size_t i = 0; i < keep.size(); ++i) subset.row(static_cast<index_t>(i)) = vectors.row(keep[i]);
    feature_recovery r;
    r.per_planted = best_cosine_matches(planted, subset);
    double sum = 0;
    for (auto& m : r.per_planted) {
        if (m.index >= 0) m.index = keep[static_cast<std::size_t>(m.index)];
        sum += m.cosine;
    }
    r.mean_best_cosine = r.per_planted.empty() ? 0.0 : sum / double(r.per_planted.size());
    return r;
}

/// Each planted direction as the teacher's output sees it: T(m·f_i) − T(0), the vector a feature
/// detector's decoder should write when f_i is active with magnitude m. [F, d_model].
template <class Scalar, class Backend>
matrix<Scalar> teacher_responses(teacher_mlp<Scalar, Backend>& teacher, const matrix<Scalar>& planted, double magnitude) {
    const matrix<Scalar> x = planted * static_cast<Scalar>(magnitude);
    const matrix<Scalar> y = teacher.forward(x);
    const matrix<Scalar> y0 = teacher.forward(matrix<Scalar>::Zero(1, planted.cols()));
    return y.rowwise() - y0.row(0);
}

}  // namespace sparse_distill::analysis
