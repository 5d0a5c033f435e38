#pragma once
// The post's figures drawn from analysis results: each function returns the SVG and a caption that
// says what the reader should look for. Figure ids are stable ("fig2-<model>", …) so tests and links
// can find them.
#include "../analysis/l1_sweep.hpp"
#include "../analysis/student_analysis.hpp"
#include "../train/metrics_log.hpp"
#include "svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace sparse_distill::report {

struct figure {
    std::string svg;
    std::string caption;
};

/// A model's name with its analysis (and training history, for the curves).
struct analysed_model {
    std::string name;
    const analysis::student_analysis* analysis = nullptr;
    const metrics_history* history = nullptr;
};

namespace detail {
/// Values split by feature type, in the order simulators, sparse features, dead (empty groups kept
/// so colours mean the same thing in every plot).
inline std::vector<named_values> by_type(const analysis::student_analysis& a, auto&& value_of, bool include_dead = true) {
    std::vector<named_values> g = {{"neuron simulators", {}}, {"sparse features", {}}};
    if (include_dead) g.push_back({"dead", {}});
    for (std::size_t j = 0; j < a.types.size(); ++j) {
        const double v = value_of(j);
        switch (a.types[j]) {
            case analysis::feature_type::neuron_simulator: g[0].values.push_back(v); break;
            case analysis::feature_type::sparse_feature: g[1].values.push_back(v); break;
            case analysis::feature_type::dead:
                if (include_dead) g[2].values.push_back(v);
                break;
        }
    }
    return g;
}
inline std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}
inline std::string percent(double f) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100 * f);
    return buf;
}
}  // namespace detail

/// Fig 2: distribution of each feature's max decoder cosine to the teacher's neurons, by type.
inline figure decoder_similarity_figure(const std::string& model, const analysis::student_analysis& a, double threshold) {
    plot_frame f{"fig2-" + model, model + ": max decoder cosine similarity to a teacher neuron"};
    f.x = {"max cosine similarity (student decoder row vs teacher output vector)", false, std::nullopt, 1.0};
    f.y = {"features"};
    return {histogram_svg(f, detail::by_type(a, [&](std::size_t j) { return a.decoder_matches[j].cosine; })),
            "Fig 2 (" + model + "). Features to the right of " + detail::number(threshold) +
                " write almost exactly what one teacher neuron writes: these are the neuron simulators (" +
                detail::percent(a.counts.fraction(a.counts.simulators)) +
                " here). A second mode at low similarity is the sparse features, which write new directions."};
}

/// Fig 3: the same for encoder vectors (only when the encoder was compared).
inline figure encoder_similarity_figure(const std::string& model, const analysis::student_analysis& a) {
    plot_frame f{"fig3-" + model, model + ": max encoder cosine similarity to a teacher neuron"};
    f.x = {"max cosine similarity (student encoder row vs teacher input vector)", false, std::nullopt, 1.0};
    f.y = {"features"};
    double enc = 0, dec = 0;
    std::int64_t n = 0;
    for (std::size_t j = 0; j < a.types.size(); ++j)
        if (a.types[j] == analysis::feature_type::neuron_simulator) enc += a.encoder_matches[j].cosine, dec += a.decoder_matches[j].cosine, ++n;
    char buf[160];
    std::snprintf(buf, sizeof buf, "Here the simulators' mean encoder cosine is %.3f against a mean decoder cosine of %.3f. ",
                  n ? enc / double(n) : std::nan(""), n ? dec / double(n) : std::nan(""));
    return {histogram_svg(f, detail::by_type(a, [&](std::size_t j) { return a.encoder_matches[j].cosine; })),
            "Fig 3 (" + model + "). " + buf +
                "On a real transformer the post found simulators' encoders far less aligned than their decoders (mean "
                "0.15 against > 0.9): a neuron fires on a wide distribution of inputs, so its input direction is harder "
                "to learn than the single direction it writes (Appendix A). A gap between the two numbers is that effect."};
}

/// Fig 4: log10 of each live feature's firing frequency, by type.
inline figure activation_frequency_figure(const std::string& model, const analysis::student_analysis& a) {
    plot_frame f{"fig4-" + model, model + ": how often each feature fires"};
    f.x = {"log10 firing frequency (fraction of tokens with a > 0)"};
    f.y = {"features"};
    auto groups = detail::by_type(
        a, [&](std::size_t j) { return a.activity.fire_counts[j] > 0 ? std::log10(a.activity.frequency(j)) : std::nan(""); },
        false);
    return {histogram_svg(f, groups),
            "Fig 4 (" + model + "). Neuron simulators fire on a large fraction of tokens, like the dense neurons they copy; "
            "sparse features fire rarely. " + std::to_string(a.activity.dead()) + " dead features (never fired on " +
                std::to_string(a.activity.tokens) + " tokens) are not shown."};
}

/// Fig 5 (top) for one L1 coefficient: reconstruction error of each model, whole and mean-ablated by type.
inline figure mean_ablation_figure(const std::vector<analysed_model>& models) {
    plot_frame f{"fig5-ablation", "Reconstruction error with one kind of feature mean-ablated"};
    f.x = {"features kept"};
    f.y = {"MSE (mean over tokens of squared error summed over dims)"};
    std::vector<named_values> groups;
    for (const auto& m : models)
        groups.push_back({m.name,
                          {m.analysis->ablation.full.mse, m.analysis->ablation.sparse_only.mse,
                           m.analysis->ablation.simulators_only.mse}});
    return {bar_svg(f, {"all features", "sparse features only", "simulators only"}, groups),
            "Fig 5, top, at this run's L1 coefficient. 'Sparse features only' replaces every simulator's activation "
            "by its mean: if the error jumps, the simulators do most of the work and the sparse features explain "
            "little of the MLP. An SAE has (almost) no simulators, so its two right bars barely differ."};
}

/// Fig 5 from an L1 sweep: errors (top) and feature counts (bottom) against the L1 coefficient.
/// Fig 5 from the rows of a sweep over λ (rows of TopK-like students, which have no λ, are left out).
inline std::vector<figure> l1_sweep_figures(const std::vector<analysis::l1_sweep_row>& rows) {
    std::vector<double> l1, full, sparse, sims, n_sim, n_sparse, n_dead;
    for (const auto& r : rows) {
        if (r.k > 0) continue;
        l1.push_back(r.l1_coeff);
        full.push_back(r.ablation.full.mse);
        sparse.push_back(r.ablation.sparse_only.mse);
        sims.push_back(r.ablation.simulators_only.mse);
        n_sim.push_back(double(r.counts.simulators));
        n_sparse.push_back(double(r.counts.sparse));
        n_dead.push_back(double(r.counts.dead));
    }
    plot_frame top{"fig5-sweep-errors", "Reconstruction error against the L1 coefficient"};
    top.x = {"L1 coefficient λ", true};
    top.y = {"MSE"};
    plot_frame bottom{"fig5-sweep-counts", "Feature types against the L1 coefficient"};
    bottom.x = {"L1 coefficient λ", true};
    bottom.y = {"features"};
    return {{line_svg(top, {{"all features", l1, full}, {"sparse features only", l1, sparse}, {"simulators only", l1, sims}}),
             "Fig 5, top. The full model's error rises with λ. The error with sparse features alone first falls (more "
             "of the work moves to sparse features), then rises again once features start to die."},
            {line_svg(bottom, {{"neuron simulators", l1, n_sim}, {"sparse features", l1, n_sparse}, {"dead", l1, n_dead}}),
             "Fig 5, bottom. Larger λ turns simulators into sparse features, and eventually kills features."}};
}

/// The Pareto front the post could not draw: each architecture's error (FVU) against its L0, one curve
/// per architecture through its runs (λ for ReLU/GELU, k for TopK/BatchTopK), sorted by L0.
inline figure pareto_figure(const std::vector<analysis::l1_sweep_row>& rows) {
    std::vector<series> curves;
    for (const auto& r : rows) {
        auto found = std::find_if(curves.begin(), curves.end(), [&](const series& s) { return s.name == r.architecture; });
        if (found == curves.end()) found = curves.insert(curves.end(), series{r.architecture, {}, {}});
        found->x.push_back(r.l0);
        found->y.push_back(r.ablation.full.fvu);
    }
    for (series& s : curves) {
        std::vector<std::size_t> order(s.x.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s.x[a] < s.x[b]; });
        series sorted{s.name, {}, {}};
        for (const std::size_t i : order) {
            sorted.x.push_back(s.x[i]);
            sorted.y.push_back(s.y[i]);
        }
        s = std::move(sorted);
    }
    plot_frame f{"pareto-fvu-l0", "Fraction of variance unexplained against L0, per architecture"};
    f.x = {"L0 (active features per token)", true};
    f.y = {"FVU", true};
    return {line_svg(f, curves),
            "Pareto front. Each point is one student on the same data and teacher; lower and further left is better. "
            "ReLU students move along their curve with λ, TopK students with k."};
}

/// Fig 7: for each simulator, the teacher neuron its encoder matches against the one its decoder matches.
inline figure match_consistency_figure(const std::string& model, const analysis::student_analysis& a) {
    plot_frame f{"fig7-" + model, model + ": teacher neuron matched by encoder vs by decoder (simulators)"};
    f.x = {"teacher neuron best matching the decoder"};
    f.y = {"teacher neuron best matching the encoder"};
    series s{"simulators", {}, {}};
    for (const auto& p : a.consistency.pairs) {
        s.x.push_back(double(p.decoder_neuron));
        s.y.push_back(double(p.encoder_neuron));
    }
    return {scatter_svg(f, {s}, true),
            "Fig 7 (" + model + "). Points on the diagonal are simulators whose encoder and decoder point at the same "
            "teacher neuron: " + detail::percent(a.consistency.fraction()) +
                " of them. The post found them on the diagonal: each simulator copies one neuron, not a mixture. "
                "Points off it read from one neuron's input direction and write another's output."};
}

/// Fig 8: one simulator's activation against the activation of the teacher neuron it copies.
inline figure simulator_correlation_figure(const std::string& model, const analysis::student_analysis& a) {
    const auto& c = a.correlations;
    plot_frame f{"fig8-" + model, model + ": simulator " + std::to_string(c.sample_feature) + " vs teacher neuron " +
                                      std::to_string(c.sample_neuron)};
    f.x = {"teacher neuron activation"};
    f.y = {"student feature activation"};
    double r = std::nan("");
    for (const auto& s : c.simulators)
        if (s.feature == c.sample_feature) r = s.pearson;
    char buf[64];
    std::snprintf(buf, sizeof buf, "r = %.4f; mean over all %zu simulators r = %.4f", r, c.simulators.size(), c.mean());
    return {scatter_svg(f, {{"tokens", c.sample_teacher, c.sample_student}}),
            "Fig 8 (" + model + "). The first simulator against its teacher neuron (" + buf +
                "). The post found r ≈ 0.99: a simulator computes nearly the same function as its neuron even when "
                "its encoder is only loosely aligned. A ReLU feature cannot follow GELU's small negative part: it "
                "sits at zero there."};
}

/// Appendix B: how many teacher neurons are simulated by 0, 1, 2, 3, 4+ features, per model.
inline figure simulator_cluster_figure(const std::vector<analysed_model>& models) {
    plot_frame f{"figB-clusters", "Simulators per teacher neuron"};
    f.x = {"student features simulating the same teacher neuron"};
    f.y = {"teacher neurons"};
    std::vector<named_values> groups;
    for (const auto& m : models) {
        const auto& c = m.analysis->clusters;
        std::int64_t four_plus = 0;
        for (const auto& [size, n] : c.neurons_by_cluster_size)
            if (size >= 4) four_plus += n;
        groups.push_back({m.name,
                          {double(c.neurons_with(0)), double(c.neurons_with(1)), double(c.neurons_with(2)),
                           double(c.neurons_with(3)), double(four_plus)}});
    }
    return {bar_svg(f, {"0", "1", "2", "3", "4+"}, groups),
            "Appendix B. The post found a GELU student copies most neurons two or three times (pairs and triplets) "
            "while a ReLU student copies each about once; compare the bars at 2 and 3."};
}

/// Training curves: loss and L0 against tokens seen, per model.
inline std::vector<figure> training_curve_figures(const std::vector<analysed_model>& models) {
    std::vector<series> loss, l0;
    for (const auto& m : models) {
        if (!m.history) continue;
        series a{m.name, {}, {}}, b{m.name, {}, {}};
        for (const auto& s : m.history->steps) {
            a.x.push_back(double(s.tokens_seen));
            a.y.push_back(s.terms.loss);
            b.x.push_back(double(s.tokens_seen));
            b.y.push_back(s.terms.l0);
        }
        loss.push_back(std::move(a));
        l0.push_back(std::move(b));
    }
    plot_frame fl{"training-loss", "Training loss"};
    fl.x = {"tokens seen"};
    fl.y = {"loss = MSE + λ·L1 (batch)", true};
    plot_frame f0{"training-l0", "Active features per token during training"};
    f0.x = {"tokens seen"};
    f0.y = {"L0 (batch mean)", true};
    return {{line_svg(fl, loss), "Training loss per reported step. It should fall steeply and then flatten; a curve "
                                 "still falling at the end means more tokens would help."},
            {line_svg(f0, l0), "L0 per reported step: the L1 penalty drives it down from about half the features."}};
}

}  // namespace sparse_distill::report
