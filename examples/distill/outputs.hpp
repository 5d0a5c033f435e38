#pragma once
// What the planted-feature subcommands (`run`, `sweep`) report: each model as JSON for metrics.json, and
// the summary table on stdout. The files themselves go through output_folder.hpp.
#include "common_options.hpp"
#include "planted_options.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace distill {

using result_type = sd::experiments::planted_distillation_result<float>;
using model_type = sd::experiments::trained_model<float>;

inline nlohmann::json settings_json(const shared_options& shared, const planted_options& o) {
    return {{"seed", shared.common.seed},
            {"backend", shared.common.backend},
            {"data",
             {{"dim", o.data.dim}, {"features", o.data.features}, {"probability", o.data.probability},
              {"magnitude_min", o.data.magnitude_min}, {"magnitude_max", o.data.magnitude_max}, {"noise", o.data.noise_stddev}}},
            {"teacher", {{"d_mlp", o.d_mlp}, {"act", o.teacher_act}, {"bias_std", o.teacher_bias_std}, {"output_norm", o.teacher_output_norm}}},
            {"eval_tokens", o.eval_tokens},
            {"simulator_threshold", shared.common.threshold}};
}

inline nlohmann::json model_json(const model_type& m) {
    const auto& c = m.spec.config;
    const auto& t = m.spec.train;
    const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    const auto& rec = m.recovery;
    nlohmann::json recovery = {{"encoder", num(rec.encoder.mean_best_cosine)},
                               {"decoder", num(rec.decoder.mean_best_cosine)},
                               {"encoder_chance", num(rec.encoder_chance)},
                               {"encoder_alignment_sparse", num(rec.encoder_alignment_sparse)},
                               {"encoder_alignment_simulators", num(rec.encoder_alignment_simulators)},
                               {"decoder_alignment_sparse", num(rec.decoder_alignment_sparse)},
                               {"decoder_alignment_simulators", num(rec.decoder_alignment_simulators)},
                               {"alignment_chance", num(rec.alignment_chance)}};
    // The settings under student_config's and train_settings' own keys (those of checkpoints and
    // exported cfg.json files), then what the run measured.
    nlohmann::json train = t;
    train["steps"] = m.summary.steps;
    train["seconds"] = m.summary.seconds;
    train["tokens_per_second"] = m.summary.seconds > 0 ? double(m.summary.tokens) / m.summary.seconds : 0.0;
    train["final_batch"] = sd::to_json(m.summary.last);
    return {{"kind", m.spec.sae ? "sae" : "distilled_student"},
            {"student", c},
            {"train", train},
            {"analysis", to_json(m.analysis)},
            {"planted_recovery", recovery}};
}

/// One row per model on stdout: what a reader checks first.
inline void print_summary(const std::vector<const model_type*>& models, std::FILE* out = stdout) {
    std::fprintf(out, "\n%-14s %9s %7s %7s %7s %6s %6s %6s %8s %8s %8s %8s\n", "model", "MSE", "FVU", "L0", "dead%",
                 "sims", "sparse", "dead", "dec-cos", "corr", "rec-enc", "rec-dec");
    for (const model_type* m : models) {
        const auto& a = m->analysis;
        std::fprintf(out, "%-14s %9.4f %7.4f %7.1f %7.1f %6lld %6lld %6lld %8.3f %8.3f %8.3f %8.3f\n", m->spec.name.c_str(),
                     a.ablation.full.mse, a.ablation.full.fvu, a.activity.l0, 100 * a.activity.dead_fraction(),
                     static_cast<long long>(a.counts.simulators), static_cast<long long>(a.counts.sparse),
                     static_cast<long long>(a.counts.dead),
                     sd::analysis::mean_cosine(a.decoder_matches), a.correlations.mean(),
                     m->recovery.encoder.mean_best_cosine, m->recovery.decoder.mean_best_cosine);
    }
    std::fprintf(out,
                 "\nsims/sparse/dead: neuron simulators (max decoder cosine > threshold), sparse features, dead features; "
                 "dec-cos: mean max decoder cosine to a teacher neuron; corr: mean simulator–neuron correlation; "
                 "rec-enc/rec-dec: mean best cosine of the planted features to encoder/decoder rows.\n");
}

}  // namespace distill
