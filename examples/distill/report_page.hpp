#pragma once
// report.html for a run or a sweep: the summary table, the post's figures for every model, and
// feature recovery against the planted directions.
#include "outputs.hpp"

#include <sparse_distill/report.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace distill {

namespace detail {

inline std::string setup_text(const shared_options& shared, const planted_options& o) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "Planted data: %lld unit feature directions in R^%lld, each active with probability %g and magnitude "
                  "U[%g, %g], noise σ = %g. Teacher: a random %s MLP with %lld neurons. Every model sees the same "
                  "training tokens; every analysis reads the same %lld held-out tokens. Seed %llu.",
                  static_cast<long long>(o.data.features), static_cast<long long>(o.data.dim), o.data.probability,
                  o.data.magnitude_min, o.data.magnitude_max, o.data.noise_stddev, o.teacher_act.c_str(),
                  static_cast<long long>(o.d_mlp), static_cast<long long>(o.eval_tokens),
                  static_cast<unsigned long long>(shared.common.seed));
    return buf;
}

inline void summary_table(sd::report::html_document& doc, const std::vector<const model_type*>& models) {
    std::vector<std::string> header = {"metric"};
    for (const auto* m : models) header.push_back(m->spec.name);
    std::vector<std::vector<std::string>> rows;
    auto row = [&](const std::string& name, auto&& value) {
        std::vector<std::string> r = {name};
        for (const auto* m : models) r.push_back(value(*m));
        rows.push_back(std::move(r));
    };
    row("kind", [](const model_type& m) { return std::string(m.spec.sae ? "SAE on MLP output" : "distilled MLP"); });
    row("activation", [](const model_type& m) { return std::string(sd::to_string(m.spec.config.act)); });
    row("sparsity", [](const model_type& m) {
        const sd::student_config& c = m.spec.config;
        std::string text(sd::to_string(c.sparsity));
        if (c.k > 0) text += ", k = " + std::to_string(c.k);
        if (c.skip) text += ", skip connection";
        return text;
    });
    row("L1 coefficient λ", [](const model_type& m) { return fmt(m.spec.train.loss.l1_coeff); });
    row("MSE (reconstruction error)", [](const model_type& m) { return fmt(m.analysis.ablation.full.mse); });
    row("fraction of variance unexplained", [](const model_type& m) { return fmt(m.analysis.ablation.full.fvu); });
    row("explained variance", [](const model_type& m) { return fmt(m.analysis.ablation.full.explained_variance()); });
    row("L0 (active features per token)", [](const model_type& m) { return fmt(m.analysis.activity.l0, "%.1f"); });
    row("dead features", [](const model_type& m) {
        return std::to_string(m.analysis.counts.dead) + " (" + fmt(100 * m.analysis.activity.dead_fraction(), "%.1f") + "%)";
    });
    row("neuron simulators", [](const model_type& m) {
        const auto& c = m.analysis.counts;
        return std::to_string(c.simulators) + " (" + fmt(100 * c.fraction(c.simulators), "%.1f") + "%)";
    });
    row("sparse features", [](const model_type& m) {
        const auto& c = m.analysis.counts;
        return std::to_string(c.sparse) + " (" + fmt(100 * c.fraction(c.sparse), "%.1f") + "%)";
    });
    row("MSE, sparse features only", [](const model_type& m) { return fmt(m.analysis.ablation.sparse_only.mse); });
    row("MSE, simulators only", [](const model_type& m) { return fmt(m.analysis.ablation.simulators_only.mse); });
    row("encoder–decoder match consistency", [](const model_type& m) {
        return m.spec.sae ? std::string("–") : fmt(100 * m.analysis.consistency.fraction(), "%.1f%%");
    });
    row("mean simulator–neuron correlation", [](const model_type& m) { return fmt(m.analysis.correlations.mean(), "%.3f"); });
    row("planted recovery: encoder, decoder (chance)", [](const model_type& m) {
        return fmt(m.recovery.encoder.mean_best_cosine, "%.3f") + ", " + fmt(m.recovery.decoder.mean_best_cosine, "%.3f") +
               " (" + fmt(m.recovery.encoder_chance, "%.3f") + ")";
    });
    row("planted alignment of encoders: sparse / simulators (chance)", [](const model_type& m) {
        return fmt(m.recovery.encoder_alignment_sparse, "%.3f") + " / " + fmt(m.recovery.encoder_alignment_simulators, "%.3f") +
               " (" + fmt(m.recovery.alignment_chance, "%.3f") + ")";
    });
    row("planted alignment of decoders: sparse / simulators", [](const model_type& m) {
        return fmt(m.recovery.decoder_alignment_sparse, "%.3f") + " / " + fmt(m.recovery.decoder_alignment_simulators, "%.3f");
    });
    row("training throughput (tokens/s)", [](const model_type& m) {
        return fmt(m.summary.seconds > 0 ? double(m.summary.tokens) / m.summary.seconds : 0.0, "%.0f");
    });
    doc.table(header, rows,
              "Student vs SAE, side by side as in the post. Planted recovery: for each planted feature, the best cosine "
              "similarity to any encoder (decoder) row, averaged, with its chance level (random directions). Planted "
              "alignment: for each feature of a type, its best cosine to any planted feature, averaged over the type. "
              "Decoders and an SAE's encoders are compared with the teacher's response to a planted feature, "
              "T(m̄·f) − T(0); a distilled student's encoders with the planted direction f itself.");
}

inline void add(sd::report::html_document& doc, const sd::report::figure& f) { doc.figure(f.svg, f.caption); }

inline sd::report::figure recovery_figure(const std::vector<const model_type*>& models) {
    std::vector<sd::report::named_values> groups;
    for (const auto* m : models)
        groups.push_back({m->spec.name,
                          {m->recovery.encoder_alignment_sparse, m->recovery.encoder_alignment_simulators,
                           m->recovery.decoder_alignment_sparse, m->recovery.decoder_alignment_simulators}});
    const double chance = models.empty() ? std::nan("") : models.front()->recovery.alignment_chance;
    sd::report::plot_frame f{"recovery", "How planted-like each kind of feature is"};
    f.x = {"feature vectors compared"};
    f.y = {"mean best cosine to a planted feature", false, 0.0, 1.0};
    return {sd::report::bar_svg(f, {"encoder · sparse", "encoder · simulators", "decoder · sparse", "decoder · simulators"},
                                groups),
            "Planted alignment by feature type: each feature's best cosine to any planted feature, averaged over the "
            "type. Sparse features should be far more planted-like than simulators, which copy the teacher's dense, "
            "polysemantic neurons instead. Random vectors score " + fmt(chance, "%.2f") +
                ", not 0: that is the chance level. A missing bar is an empty type."};
}
}  // namespace detail

/// The page for a run: every model's analyses.
inline sd::report::html_document run_report(const shared_options& shared, const planted_options& o, const result_type& r) {
    using namespace sd::report;
    std::vector<const model_type*> models;
    std::vector<analysed_model> analysed, students;
    for (const auto& m : r.models) {
        models.push_back(&m);
        analysed.push_back({m.spec.name, &m.analysis, &m.history});
        if (!m.spec.sae) students.push_back({m.spec.name, &m.analysis, &m.history});
    }
    html_document doc("sparse_distill: sparse MLP distillation on planted features");
    doc.paragraph(detail::setup_text(shared, o));
    doc.heading("Summary");
    detail::summary_table(doc, models);
    detail::add(doc, detail::recovery_figure(models));
    doc.heading("Training");
    for (const auto& f : training_curve_figures(analysed)) detail::add(doc, f);
    doc.heading("Decoder similarity (Fig 2)");
    for (const auto& m : r.models) detail::add(doc, decoder_similarity_figure(m.spec.name, m.analysis, shared.common.threshold));
    doc.heading("Encoder similarity (Fig 3)");
    for (const auto& m : r.models)
        if (!m.spec.sae) detail::add(doc, encoder_similarity_figure(m.spec.name, m.analysis));
    doc.heading("Activation frequency (Fig 4)");
    for (const auto& m : r.models) detail::add(doc, activation_frequency_figure(m.spec.name, m.analysis));
    doc.heading("Mean ablation by feature type (Fig 5)");
    detail::add(doc, mean_ablation_figure(analysed));
    doc.paragraph("For Fig 5 across L1 coefficients, run `distill sweep`.");
    doc.heading("Encoder–decoder match consistency (Fig 7)");
    for (const auto& m : r.models)
        if (!m.spec.sae) {
            if (m.analysis.consistency.pairs.empty()) doc.paragraph(m.spec.name + " has no neuron simulators.");
            else detail::add(doc, match_consistency_figure(m.spec.name, m.analysis));
        }
    doc.heading("Simulator vs teacher neuron (Fig 8)");
    for (const auto& m : r.models)
        if (!m.spec.sae) {
            if (m.analysis.correlations.simulators.empty()) doc.paragraph(m.spec.name + " has no neuron simulators.");
            else detail::add(doc, simulator_correlation_figure(m.spec.name, m.analysis));
        }
    doc.heading("Simulator clusters (Appendix B)");
    detail::add(doc, simulator_cluster_figure(students));
    doc.paragraph("Per-feature details: features_<model>.csv. All numbers: metrics.json. Training log: metrics.jsonl.");
    return doc;
}

/// The page for a sweep: Fig 5 against λ and a table per λ.
inline sd::report::html_document sweep_report(const shared_options& shared, const planted_options& o,
                                              const std::vector<sd::analysis::l1_sweep_row>& rows) {
    using namespace sd::report;
    html_document doc("sparse_distill: sweep of the distilled student (Fig 5, and the Pareto front per architecture)");
    doc.paragraph(detail::setup_text(shared, o));
    const bool any_l1 = std::any_of(rows.begin(), rows.end(), [](const auto& r) { return r.k == 0; });
    if (any_l1)
        for (const auto& f : l1_sweep_figures(rows)) detail::add(doc, f);
    detail::add(doc, pareto_figure(rows));
    std::vector<std::vector<std::string>> table;
    for (const auto& r : rows)
        table.push_back({r.architecture, r.k > 0 ? "k " + std::to_string(r.k) : "λ " + detail::fmt(r.l1_coeff),
                         detail::fmt(r.l0, "%.1f"), detail::fmt(r.ablation.full.fvu, "%.3f"), detail::fmt(r.ablation.full.mse),
                         detail::fmt(r.ablation.sparse_only.mse), detail::fmt(r.ablation.simulators_only.mse),
                         std::to_string(r.counts.simulators), std::to_string(r.counts.sparse), std::to_string(r.counts.dead)});
    doc.table({"architecture", "setting", "L0", "FVU", "MSE", "MSE sparse only", "MSE simulators only", "simulators", "sparse", "dead"},
              table,
              "One student per setting, same data, teacher and seed. Do TopK students also split into neuron simulators "
              "and sparse features? The simulators and sparse columns say, per architecture.");
    return doc;
}

}  // namespace distill
