#pragma once
// How well a student reproduces its targets (standard SAE/transcoder metrics), and how well it does
// with one kind of feature mean-ablated (the post's Fig 5, top).
#include "../config.hpp"
#include "../nn/student.hpp"
#include "activation_stats.hpp"
#include "detail/chunks.hpp"
#include "eval_tokens.hpp"
#include "feature_types.hpp"

#include <vector>

namespace sparse_distill::analysis {

/// mse = mean over tokens of ‖y − ŷ‖² (the training loss's MSE term, the post's "reconstruction
/// error"); fvu = Σ‖y − ŷ‖² / Σ‖y − ȳ‖²; explained variance = 1 − fvu.
struct reconstruction_metrics {
    double mse = 0;
    double fvu = 0;
    double explained_variance() const { return 1.0 - fvu; }
};

namespace detail {
/// Σ_rows ‖y − ȳ‖², with ȳ the mean row of y: the denominator of FVU.
template <class Scalar>
double total_variation(const matrix<Scalar>& y) {
    const Eigen::RowVectorXd mean = y.template cast<double>().colwise().mean();
    return (y.template cast<double>().rowwise() - mean).squaredNorm();
}

template <class Scalar>
reconstruction_metrics metrics_from(double squared_error, const matrix<Scalar>& y) {
    const double variation = total_variation(y);
    return {y.rows() > 0 ? squared_error / double(y.rows()) : 0.0, variation > 0 ? squared_error / variation : 0.0};
}
}  // namespace detail

/// Metrics of the student's prediction for eval.student_input against eval.target.
template <class Scalar, class Backend>
reconstruction_metrics reconstruction(const student_mlp<Scalar, Backend>& student, const eval_tokens<Scalar>& eval,
                                      index_t chunk_rows = 4096) {
    double squared_error = 0;
    detail::for_each_chunk(eval.rows(), chunk_rows, [&](index_t first, index_t rows) {
        const matrix<Scalar> y_hat = student.predict(eval.student_input.middleRows(first, rows));
        squared_error += (y_hat.template cast<double>() - eval.target.middleRows(first, rows).template cast<double>())
                             .squaredNorm();
    });
    return detail::metrics_from(squared_error, eval.target);
}

/// Metrics when the features with ablate[j] = true have their activation replaced by their mean
/// over the tokens (`mean_activation`), everything else as trained: ŷ = a'·W_dec + b_dec (+ x·W_skip).
template <class Scalar, class Backend>
reconstruction_metrics mean_ablated_reconstruction(const student_mlp<Scalar, Backend>& student,
                                                   const eval_tokens<Scalar>& eval, const std::vector<bool>& ablate,
                                                   const std::vector<double>& mean_activation,
                                                   index_t chunk_rows = 4096) {
    const auto h = static_cast<std::size_t>(student.d_sae());
    detail::expect_size("mean_ablated_reconstruction", "ablate", ablate.size(), h);
    detail::expect_size("mean_ablated_reconstruction", "mean_activation", mean_activation.size(), h);
    const student_weights<Scalar> w = student.weights();
    double squared_error = 0;
    detail::for_each_chunk(eval.rows(), chunk_rows, [&](index_t first, index_t rows) {
        matrix<Scalar> a = student.encode(eval.student_input.middleRows(first, rows));
        for (index_t j = 0; j < a.cols(); ++j)
            if (ablate[static_cast<std::size_t>(j)]) a.col(j).setConstant(static_cast<Scalar>(mean_activation[static_cast<std::size_t>(j)]));
        matrix<Scalar> y_hat = a * w.w_dec;
        if (w.b_dec.size() > 0) y_hat.rowwise() += w.b_dec.transpose();
        // A skip connection's part x·W_skip is not a feature's: it stays.
        if (w.w_skip.size() > 0) y_hat += eval.student_input.middleRows(first, rows) * w.w_skip;
        squared_error += (y_hat.template cast<double>() - eval.target.middleRows(first, rows).template cast<double>())
                             .squaredNorm();
    });
    return detail::metrics_from(squared_error, eval.target);
}

/// Fig 5 (top): the full student, sparse features alone (simulators mean-ablated) and simulators
/// alone (sparse features mean-ablated).
struct ablation_by_type {
    reconstruction_metrics full, sparse_only, simulators_only;
};

template <class Scalar, class Backend>
ablation_by_type mean_ablation_by_type(const student_mlp<Scalar, Backend>& student, const eval_tokens<Scalar>& eval,
                                       const std::vector<feature_type>& types, const feature_activation_stats& stats,
                                       index_t chunk_rows = 4096) {
    detail::expect_size("mean_ablation_by_type", "types", types.size(), static_cast<std::size_t>(student.d_sae()));
    std::vector<bool> simulators(types.size()), sparse(types.size());
    for (std::size_t j = 0; j < types.size(); ++j) {
        simulators[j] = types[j] == feature_type::neuron_simulator;
        sparse[j] = types[j] == feature_type::sparse_feature;
    }
    return {reconstruction(student, eval, chunk_rows),
            mean_ablated_reconstruction(student, eval, simulators, stats.mean_activation, chunk_rows),
            mean_ablated_reconstruction(student, eval, sparse, stats.mean_activation, chunk_rows)};
}

}  // namespace sparse_distill::analysis
