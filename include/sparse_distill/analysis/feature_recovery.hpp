#pragma once
// With planted features (data/planted_features.hpp) the true directions are known: how well did a
// model find them? For each planted direction, the best cosine similarity to any of the model's
// vectors (optionally only those of one feature type); the mean over planted directions.
#include "../config.hpp"
#include "../nn/teacher.hpp"
#include "detail/chunks.hpp"
#include "feature_types.hpp"
#include "similarity.hpp"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <utility>
#include <vector>

namespace sparse_distill::analysis {

struct feature_recovery {
    std::vector<best_match> per_planted;  ///< best model vector for each planted direction
    double mean_best_cosine = 0;          ///< NaN when no model vector was eligible
};

namespace detail {
/// The rows of `vectors` whose type is in `allowed` (all rows when `types` is empty), and their indices.
template <class Scalar>
std::pair<matrix<Scalar>, std::vector<index_t>> rows_of_types(const matrix<Scalar>& vectors, const std::vector<feature_type>& types,
                                                              std::initializer_list<feature_type> allowed) {
    if (!types.empty()) expect_size("feature recovery", "types", types.size(), static_cast<std::size_t>(vectors.rows()));
    std::vector<index_t> keep;
    for (index_t j = 0; j < vectors.rows(); ++j)
        if (types.empty() || std::find(allowed.begin(), allowed.end(), types[static_cast<std::size_t>(j)]) != allowed.end())
            keep.push_back(j);
    matrix<Scalar> subset(static_cast<index_t>(keep.size()), vectors.cols());
    for (std::size_t i = 0; i < keep.size(); ++i) subset.row(static_cast<index_t>(i)) = vectors.row(keep[i]);
    return {std::move(subset), std::move(keep)};
}
}  // namespace detail

inline constexpr std::initializer_list<feature_type> every_feature_type = {
    feature_type::neuron_simulator, feature_type::sparse_feature, feature_type::dead};

/// For each planted direction (row of `planted`), the best cosine to the rows of `vectors` whose
/// feature type is in `allowed` (all rows when `types` is empty); the mean over planted directions.
/// How much of the planted set a model found. It grows with the number of rows compared, so compare
/// it between groups of similar size, or against `chance`-level random directions.
template <class Scalar>
feature_recovery recover_features(const matrix<Scalar>& planted, const matrix<Scalar>& vectors,
                                  const std::vector<feature_type>& types = {},
                                  std::initializer_list<feature_type> allowed = every_feature_type) {
    const auto [subset, keep] = detail::rows_of_types(vectors, types, allowed);
    feature_recovery r;
    if (keep.empty()) {
        r.per_planted.resize(static_cast<std::size_t>(planted.rows()));
        r.mean_best_cosine = std::numeric_limits<double>::quiet_NaN();
        return r;
    }
    r.per_planted = best_cosine_matches(planted, subset);
    double sum = 0;
    for (auto& m : r.per_planted) {
        if (m.index >= 0) m.index = keep[static_cast<std::size_t>(m.index)];
        sum += m.cosine;
    }
    r.mean_best_cosine = r.per_planted.empty() ? std::numeric_limits<double>::quiet_NaN() : sum / double(r.per_planted.size());
    return r;
}

/// For each row of `vectors` with a type in `allowed`, its best cosine to any planted direction;
/// the mean over those rows (NaN for none). How planted-like a group's features are: unlike
/// recover_features it does not grow with the size of the group, so groups compare fairly.
template <class Scalar>
double planted_alignment(const matrix<Scalar>& vectors, const matrix<Scalar>& planted, const std::vector<feature_type>& types,
                         std::initializer_list<feature_type> allowed) {
    const auto [subset, keep] = detail::rows_of_types(vectors, types, allowed);
    return mean_cosine(best_cosine_matches(subset, planted));
}

/// Each planted direction as the teacher's output sees it: T(m·f_i) − T(0), the vector a feature
/// detector's decoder should write when f_i is active with magnitude m. [F, d_model].
template <class Scalar, class Backend>
matrix<Scalar> teacher_responses(const teacher_mlp<Scalar, Backend>& teacher, const matrix<Scalar>& planted, double magnitude) {
    const matrix<Scalar> x = planted * static_cast<Scalar>(magnitude);
    const matrix<Scalar> y = teacher.forward(x);
    const matrix<Scalar> y0 = teacher.forward(matrix<Scalar>::Zero(1, planted.cols()));
    return y.rowwise() - y0.row(0);
}

}  // namespace sparse_distill::analysis
