#pragma once
// replication.html and replication.json for `distill replicate`: the verdict per claim with its rule, the
// values per setting over seeds, the hypotheses' settings side by side, the single-neuron runs, and the
// language model's sweeps (loss recovered and FVU against L0, per layer and architecture).
#include "common_options.hpp"

#include <sparse_distill/experiments/replication/claims.hpp>
#include <sparse_distill/report.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace distill {

namespace detail {
namespace rp = sd::experiments::replication;

inline nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

inline std::string mean_sd(const rp::seed_values& v, const char* format = "%.3f") {
    if (v.finite().empty()) return "–";
    std::string text = fmt(v.mean(), format);
    if (v.finite().size() > 1) text += " ± " + fmt(v.sd(), format);
    return text;
}

/// `value` of the `role` models of each run of `setting` (one per seed).
template <class Value>
rp::seed_values values_of(const std::vector<rp::model_run>& runs, const std::string& setting, const std::string& role, int layer,
                          Value&& value) {
    rp::seed_values v;
    for (const rp::model_run& run : runs) {
        if (run.setting != setting) continue;
        for (const rp::model_measurement& x : run.models)
            if (x.role == role && x.layer == layer) v.values.push_back(value(x));
    }
    return v;
}
}  // namespace detail

inline nlohmann::json replication_json(const sd::experiments::replication::study_result& r,
                                       const std::vector<sd::experiments::replication::claim_outcome>& claims, bool quick,
                                       double seconds, const std::string& command) {
    namespace rp = sd::experiments::replication;
    using detail::number_or_null;
    nlohmann::json j = {{"command", command}, {"quick", quick}, {"seconds", seconds}, {"runs_from_cache", r.runs_from_cache}, {"seeds", r.seeds}, {"lm_model", r.lm_model}};
    for (const rp::claim_outcome& c : claims) {
        nlohmann::json settings = nlohmann::json::array();
        for (const rp::setting_outcome& s : c.settings) {
            nlohmann::json values = nlohmann::json::array();
            for (double v : s.values.values) values.push_back(number_or_null(v));
            settings.push_back({{"setting", s.setting},
                                {"values", values},
                                {"mean", number_or_null(s.values.mean())},
                                {"sd", number_or_null(s.values.sd())},
                                {"verdict", s.outcome}});
        }
        j["claims"].push_back({{"id", c.what.id},
                               {"statement", c.what.statement},
                               {"post", c.what.post_value},
                               {"measure", c.what.measure},
                               {"rule", c.what.rule_text},
                               {"band", {number_or_null(c.what.rule.lo), number_or_null(c.what.rule.hi)}},
                               {"settings", settings},
                               {"verdict", c.verdict}});
    }
    for (const rp::planted_setting& p : r.planted_settings) j["planted_settings"].push_back({{"name", p.name}, {"changes", p.changes}});
    for (const rp::model_run& run : r.planted) j["planted_runs"].push_back({{"setting", run.setting}, {"seed", run.seed}, {"models", run.models}});
    for (const rp::neuron_run& run : r.single_neuron)
        j["single_neuron_runs"].push_back({{"seed", run.seed}, {"measurement", run.measurement}});
    for (const rp::model_run& run : r.lm) j["lm_runs"].push_back({{"setting", run.setting}, {"seed", run.seed}, {"layers", run.models}});
    for (const rp::l0_at_recovery& b : rp::lowest_l0_at_recovery(r, 0.9))
        j["lowest_l0_at_90_percent"].push_back({{"layer", b.layer}, {"role", b.role}, {"l0", number_or_null(b.l0)}, {"setting", b.setting}});
    return j;
}

inline sd::report::html_document replication_page(const sd::experiments::replication::study_result& r,
                                                  const std::vector<sd::experiments::replication::claim_outcome>& claims, bool quick,
                                                  double seconds, const std::string& command) {
    namespace rp = sd::experiments::replication;
    using detail::mean_sd;
    using detail::values_of;
    using detail::fmt;
    using sd::report::html_document;
    html_document doc("sparse_distill: a replication study of Sparse MLP Distillation");
    if (quick)
        doc.paragraph("QUICK MODE: a smoke test of the study with far fewer tokens and seeds. These numbers are not evidence; the full "
                      "study is the same command without --quick.");
    doc.paragraph("Each claim of the post is measured at " + std::to_string(r.seeds.size()) + " seeds in every setting it applies to. "
                  "A claim's rule (fixed in include/sparse_distill/experiments/replication/claims.hpp before any run) says which "
                  "values support it. A setting is reproduced when every seed's value does, contradicted when none does, mixed "
                  "otherwise; a claim that is reproduced in some settings and not in others depends on the setting. Command: " +
                  command + " (" + fmt(seconds, "%.0f") + " s; " + std::to_string(r.runs_from_cache) +
                  " runs were read from the runs/ folder of an earlier call, their time not counted).");

    doc.heading("Verdicts");
    std::vector<std::vector<std::string>> rows;
    for (const rp::claim_outcome& c : claims) rows.push_back({c.what.statement, c.what.post_value, c.what.rule_text, c.verdict});
    doc.table({"claim of the post", "post", "rule", "verdict"}, rows);

    doc.heading("Each claim, setting by setting");
    for (const rp::claim_outcome& c : claims) {
        doc.heading(c.what.statement, 3);
        doc.paragraph("Measured: " + c.what.measure + ". Rule: " + c.what.rule_text + ". Verdict: " + c.verdict + ".");
        std::vector<std::vector<std::string>> lines;
        for (const rp::setting_outcome& s : c.settings) {
            std::string each;
            for (double v : s.values.values) each += (each.empty() ? "" : ", ") + fmt(v, "%.3g");
            lines.push_back({s.setting, mean_sd(s.values), fmt(s.values.min(), "%.3f") + " – " + fmt(s.values.max(), "%.3f"), each,
                             std::string(rp::to_string(s.outcome))});
        }
        doc.table({"setting", "mean ± sd", "min – max", "per seed", "verdict"}, lines);
    }

    doc.heading("Hypotheses: what each setting changes, and what it does to the numbers");
    doc.paragraph("Planted data, the ReLU student and its GELU twin in every setting, mean ± sd over seeds. The λ settings are our "
                  "recipe at another λ; the others change one thing from our recipe (at our λ).");
    rows.clear();
    for (const rp::planted_setting& p : r.planted_settings) {
        const auto relu = [&](auto value) { return mean_sd(values_of(r.planted, p.name, "relu", -1, value)); };
        const auto gelu = [&](auto value) { return mean_sd(values_of(r.planted, p.name, "gelu", -1, value)); };
        rows.push_back({p.name, p.changes, relu([](const rp::model_measurement& m) { return m.simulator_share; }),
                        relu([](const rp::model_measurement& m) { return m.simulator_encoder_cosine; }),
                        relu([](const rp::model_measurement& m) { return m.simulator_correlation; }),
                        relu([](const rp::model_measurement& m) { return m.fvu; }),
                        relu([](const rp::model_measurement& m) { return m.l0; }),
                        gelu([](const rp::model_measurement& m) { return m.simulator_share; }),
                        gelu([](const rp::model_measurement& m) { return m.fvu; })});
    }
    doc.table({"setting", "changes", "ReLU simulators", "ReLU sim. encoder cos", "ReLU sim. correlation", "ReLU FVU", "ReLU L0",
               "GELU simulators", "GELU FVU"},
              rows);

    if (!r.single_neuron.empty()) {
        doc.heading("Single neuron (Appendix A)");
        rows.clear();
        for (const char* constraint : {"unit", "cap", "none"}) {
            rp::seed_values enc, dec, norm, dec_step, enc_step;
            for (const rp::neuron_run& run : r.single_neuron) {
                if (run.setting != constraint) continue;
                enc.values.push_back(run.measurement.encoder_tail);
                dec.values.push_back(run.measurement.decoder_tail);
                norm.values.push_back(run.measurement.decoder_norm_tail);
                dec_step.values.push_back(run.measurement.decoder_step > 0 ? double(run.measurement.decoder_step) : NAN);
                enc_step.values.push_back(run.measurement.encoder_step > 0 ? double(run.measurement.encoder_step) : NAN);
            }
            rows.push_back({constraint, mean_sd(enc), mean_sd(dec), mean_sd(norm), mean_sd(dec_step, "%.0f"), mean_sd(enc_step, "%.0f")});
        }
        doc.table({"decoder norm", "encoder cosine (last window)", "decoder cosine", "decoder norm", "decoder > 0.9 at step",
                   "encoder > 0.9 at step (– never)"},
                  rows, "unit: held at norm 1 (the post's code); cap: at most 1 (the post's text); none: free.");
    }

    if (!r.lm.empty()) {
        doc.heading("The language model: " + r.lm_model);
        doc.paragraph("Every layer's MLP distilled on the training text and measured on held-out text. Loss recovered = (L_zero − "
                      "L_spliced) / (L_zero − L_clean), the post's comment's definition. The sweeps run at the first seed.");
        std::vector<int> layers;
        for (const rp::model_run& run : r.lm)
            for (const rp::model_measurement& m : run.models)
                if (std::find(layers.begin(), layers.end(), m.layer) == layers.end()) layers.push_back(m.layer);
        std::sort(layers.begin(), layers.end());
        for (int layer : layers) {
            std::vector<sd::report::series> recovered, fvu;
            std::vector<std::vector<std::string>> lines;
            for (const char* role : {"relu", "gelu", "sae", "topk"}) {
                sd::report::series rec{role, {}, {}}, var{role, {}, {}};
                std::vector<std::pair<double, std::pair<double, double>>> points;
                for (const rp::model_run& run : r.lm) {
                    if (run.seed != r.seeds.front()) continue;
                    for (const rp::model_measurement& m : run.models) {
                        if (m.role != role || m.layer != layer) continue;
                        points.push_back({m.l0, {m.loss_recovered_zero, m.fvu}});
                        lines.push_back({run.setting, fmt(m.l0, "%.1f"), fmt(m.loss_recovered_zero, "%.3f"), fmt(m.loss_recovered_mean, "%.3f"),
                                         fmt(m.fvu, "%.3f"), fmt(100 * m.simulator_share, "%.1f") + "%"});
                    }
                }
                std::sort(points.begin(), points.end());
                for (const auto& p : points) {
                    rec.x.push_back(p.first), rec.y.push_back(p.second.first);
                    var.x.push_back(p.first), var.y.push_back(p.second.second);
                }
                if (!points.empty()) recovered.push_back(rec), fvu.push_back(var);
            }
            doc.heading("Layer " + std::to_string(layer), 3);
            sd::report::plot_frame a{"lm-recovered-" + std::to_string(layer), "Loss recovered against L0, layer " + std::to_string(layer)};
            a.x = {"L0 (active features per token)", true};
            a.y = {"loss recovered (vs zero ablation)"};
            sd::report::plot_frame b{"lm-fvu-" + std::to_string(layer), "FVU against L0, layer " + std::to_string(layer)};
            b.x = {"L0 (active features per token)", true};
            b.y = {"FVU", true};
            doc.figure(sd::report::line_svg(a, recovered), "Each point one model (λ for relu, gelu and sae; k for topk); up and left is better.");
            doc.figure(sd::report::line_svg(b, fvu), "");
            doc.table({"run", "L0", "loss recovered (zero)", "loss recovered (mean)", "FVU", "simulators"}, lines);
        }
        rows.clear();
        for (const rp::l0_at_recovery& b : rp::lowest_l0_at_recovery(r, 0.9))
            rows.push_back({std::to_string(b.layer), b.role, std::isfinite(b.l0) ? fmt(b.l0, "%.1f") : "not reached", b.setting});
        doc.heading("Lowest L0 at 90% loss recovered", 3);
        doc.table({"layer", "architecture", "L0", "run"}, rows, "The goal: 90% at L0 ≤ 16 on every layer.");
    }
    return doc;
}

}  // namespace distill
