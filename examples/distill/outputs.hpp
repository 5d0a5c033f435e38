#pragma once
// What `distill` leaves behind: metrics.json, one features_<model>.csv per model, report.html, and
// the summary table on stdout.
#include "options.hpp"

#include <sparse_distill/io/detail/file_io.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace distill {

/// The callbacks of one model: the progress bar (unless quiet) and the JSONL log.
struct model_callbacks {
    std::optional<sd::progress_bar> bar;
    sd::jsonl_log log;

    template <class Report>
    void on_step(const Report& r) {
        if (bar) bar->on_step(r);
        log.on_step(r);
    }
    void on_finish(const sd::train_summary& s) {
        if (bar) bar->on_finish(s);
    }
};

/// Impossible settings (exit status 2). They are checked before anything is written, so a bad option
/// leaves no half-made output folder.
struct bad_settings : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using result_type = sd::experiments::planted_distillation_result<float>;
using model_type = sd::experiments::trained_model<float>;

inline nlohmann::json settings_json(const options& o) {
    return {{"seed", o.seed},
            {"data",
             {{"dim", o.data.dim}, {"features", o.data.features}, {"probability", o.data.probability},
              {"magnitude_min", o.data.magnitude_min}, {"magnitude_max", o.data.magnitude_max}, {"noise", o.data.noise_stddev}}},
            {"teacher", {{"d_mlp", o.d_mlp}, {"act", o.teacher_act}, {"bias_std", o.teacher_bias_std}, {"output_norm", o.teacher_output_norm}}},
            {"eval_tokens", o.eval_tokens},
            {"simulator_threshold", o.threshold}};
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
    return {{"kind", m.spec.sae ? "sae" : "distilled_student"},
            {"config",
             {{"d_in", c.d_in}, {"d_sae", c.d_sae}, {"d_out", c.d_out}, {"act", sd::to_string(c.act)}, {"biases", c.biases},
              {"input_bias", sd::to_string(c.input_bias)}, {"init", sd::to_string(c.init)},
              {"decoder_norm", sd::to_string(c.decoder_constraint)}}},
            {"train",
             {{"tokens", t.tokens}, {"batch", t.batch_size}, {"l1_coeff", t.loss.l1_coeff},
              {"l1_reduction", sd::to_string(t.loss.reduction)}, {"lr", t.schedule.lr}, {"warmup", t.schedule.warmup_steps},
              {"lr_min_ratio", t.schedule.lr_min_ratio}, {"weight_decay", t.adam.weight_decay},
              {"steps", m.summary.steps}, {"seconds", m.summary.seconds},
              {"tokens_per_second", m.summary.seconds > 0 ? double(m.summary.tokens) / m.summary.seconds : 0.0},
              {"final_batch", sd::to_json(m.summary.last)}}},
            {"analysis", to_json(m.analysis)},
            {"planted_recovery", recovery}};
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
    const std::span<const std::byte> pieces[] = {std::as_bytes(std::span(text.data(), text.size()))};
    sd::io::detail::write_atomically(path, pieces);
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
