#pragma once
// Summaries of the analyses as JSON (metrics.json): the numbers a reader compares between runs. The
// per-feature detail goes to CSV (analysis/feature_table.hpp). NaN is written as null.
#include "feature_recovery.hpp"
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
    double mean_decoder = 0;
    for (const auto& m : a.decoder_matches) mean_decoder += m.cosine;
    if (!a.decoder_matches.empty()) mean_decoder /= double(a.decoder_matches.size());
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
        {"mean_decoder_max_cosine", mean_decoder},
        {"simulator_correlation_mean", detail::number_or_null(a.correlations.mean())},
        {"teacher_neurons_by_simulator_count", clusters},
        {"teacher_neurons_covered", a.clusters.neurons_covered()},
        {"mean_within_cluster_encoder_cosine", detail::number_or_null(a.clusters.mean_within_cluster_encoder_cosine)},
    };
    if (!a.encoder_matches.empty()) {
        double mean_encoder = 0;
        for (const auto& m : a.encoder_matches) mean_encoder += m.cosine;
        j["mean_encoder_max_cosine"] = mean_encoder / double(a.encoder_matches.size());
        j["encoder_decoder_consistency"] = {{"simulators", a.consistency.pairs.size()},
                                            {"consistent", a.consistency.consistent},
                                            {"fraction", a.consistency.fraction()}};
    }
    return j;
}

}  // namespace sparse_distill::analysis
