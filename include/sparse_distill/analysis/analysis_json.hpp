#pragma once
// Summaries of the analyses as JSON (metrics.json): the numbers a reader compares between runs. The
// per-feature detail goes to CSV (analysis/feature_table.hpp). NaN is written as null.
#include "feature_recovery.hpp"
#include "l1_sweep.hpp"
#include "student_analysis.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace sparse_distill::analysis {

namespace detail {
inline nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace detail

inline nlohmann::json to_json(const reconstruction_metrics& m) {
    return {{"mse", m.mse}, {"fvu", m.fvu}, {"explained_variance", m.explained_variance()}};
}

inline nlohmann::json to_json(const feature_type_counts& c) {
    return {{"simulators", c.simulators},
            {"sparse", c.sparse},
            {"dead", c.dead},
            {"simulator_fraction", c.fraction(c.simulators)},
            {"sparse_fraction", c.fraction(c.sparse)},
            {"dead_fraction", c.fraction(c.dead)}};
}

inline nlohmann::json to_json(const feature_recovery& r) { return detail::number_or_null(r.mean_best_cosine); }

inline nlohmann::json to_json(const student_analysis& a) {
    nlohmann::json clusters = nlohmann::json::object();
    for (const auto& [size, neurons] : a.clusters.neurons_by_cluster_size) clusters[std::to_string(size)] = neurons;
    nlohmann::json j = {
        {"features", a.types.size()},
        {"eval_tokens", a.activity.tokens},
        {"l0", a.activity.l0},
        {"dead_fraction", a.activity.dead_fraction()},
        {"types", to_json(a.counts)},
        {"reconstruction", to_json(a.ablation.full)},
        {"mean_ablation",
         {{"full", to_json(a.ablation.full)},
          {"sparse_only", to_json(a.ablation.sparse_only)},
          {"simulators_only", to_json(a.ablation.simulators_only)}}},
        {"mean_decoder_max_cosine", detail::number_or_null(mean_cosine(a.decoder_matches))},
        {"simulator_correlation_mean", detail::number_or_null(a.correlations.mean())},
        {"teacher_neurons_by_simulator_count", clusters},
        {"teacher_neurons_covered", a.clusters.neurons_covered()},
        {"mean_within_cluster_encoder_cosine", detail::number_or_null(a.clusters.mean_within_cluster_encoder_cosine)},
    };
    if (!a.encoder_matches.empty()) {
        j["mean_encoder_max_cosine"] = detail::number_or_null(mean_cosine(a.encoder_matches));
        if (!a.encoder_up_matches.empty())
            j["mean_encoder_up_max_cosine"] = detail::number_or_null(mean_cosine(a.encoder_up_matches));
        j["encoder_decoder_consistency"] = {{"simulators", a.consistency.pairs.size()},
                                            {"consistent", a.consistency.consistent},
                                            {"fraction", detail::number_or_null(a.consistency.fraction())}};
    }
    return j;
}

inline nlohmann::json to_json(const l1_sweep_row& r) {
    return {{"architecture", r.architecture},
            {"k", r.k},
            {"l1_coeff", r.l1_coeff},
            {"l0", r.l0},
            {"mse_full", r.ablation.full.mse},
            {"mse_sparse_only", r.ablation.sparse_only.mse},
            {"mse_simulators_only", r.ablation.simulators_only.mse},
            {"fvu_full", r.ablation.full.fvu},
            {"simulators", r.counts.simulators},
            {"sparse", r.counts.sparse},
            {"dead", r.counts.dead}};
}

}  // namespace sparse_distill::analysis
