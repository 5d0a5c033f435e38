#pragma once
// `distill lm`: the post's experiment on a real llama2.c model. Harvest MLP activations from the
// training part of the text, distil each chosen layer, analyse on the held-out part, splice the
// student back and measure the loss, and write metrics.json, features_layerL.csv and report.html.
#include "options.hpp"
#include "outputs.hpp"

#include <sparse_distill/experiments/lm_distillation.hpp>
#include <sparse_distill/lm.hpp>
#include <sparse_distill/report.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace distill {

namespace lm_detail {

inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw sd::io::io_error(path, "file", "cannot open for reading");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// "all" (alone) or distinct layer numbers in [0, n_layers).
inline std::vector<int> parse_layers(const std::vector<std::string>& names, int n_layers) {
    if (names.size() == 1 && names.front() == "all") return {};
    std::vector<int> layers;
    for (const std::string& name : names) {
        if (name == "all") throw std::invalid_argument("--layers: 'all' cannot be combined with layer numbers");
        std::size_t used = 0;
        int l = -1;
        try {
            l = std::stoi(name, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != name.size() || l < 0 || l >= n_layers)
            throw std::invalid_argument("--layers: '" + name + "' is not 'all' or a layer in [0, " + std::to_string(n_layers) + ")");
        if (std::find(layers.begin(), layers.end(), l) != layers.end())
            throw std::invalid_argument("--layers: layer " + name + " is listed twice");
        layers.push_back(l);
    }
    return layers;
}

inline std::string fmt(double v, const char* format = "%.4g") {
    if (!std::isfinite(v)) return "–";
    char buf[48];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

inline nlohmann::json layer_json(const sd::experiments::lm_layer_result& l) {
    const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    return {{"layer", l.layer},
            {"d_sae", l.config.d_sae},
            {"losses",
             {{"clean", l.losses.clean}, {"zero_ablated", l.losses.zero_ablated}, {"mean_ablated", l.losses.mean_ablated},
              {"student", l.losses.student}, {"recovered_vs_zero", num(l.losses.recovered_vs_zero())},
              {"recovered_vs_mean", num(l.losses.recovered_vs_mean())}}},
            {"train",
             {{"steps", l.summary.steps}, {"tokens", l.summary.tokens}, {"seconds", l.summary.seconds},
              {"final_batch", sd::to_json(l.summary.last)}}},
            {"analysis", sd::analysis::to_json(l.analysis)}};
}

inline sd::report::html_document lm_report(const options& o, const sd::lm::tokenizer& tok,
                                           const sd::experiments::lm_distillation_result& r) {
    using namespace sd::report;
    html_document doc("sparse_distill: distilling the MLPs of " + std::filesystem::path(o.lm.checkpoint).filename().string());
    char setup[600];
    std::snprintf(setup, sizeof setup,
                  "Model %s, text %s: %zu passages for training (%zu tokens in windows of %d), the last %zu passages held "
                  "out (%zu tokens) for every analysis and loss. Each layer's SwiGLU MLP is distilled into a ReLU/GELU "
                  "student (%s) with λ = %g on %lld tokens of harvested activations. Forward pass: %.0f tokens/s.",
                  o.lm.checkpoint.c_str(), o.lm.text.c_str(), r.train_passages, r.train_tokens, o.lm.window, r.held_out_passages,
                  r.held_out_tokens, o.student.act.c_str(), o.student.l1, static_cast<long long>(o.student.tokens),
                  r.forward_tokens_per_second);
    doc.paragraph(setup);
    doc.heading("Loss recovered per layer");
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : r.layers) {
        const auto& a = l.analysis;
        rows.push_back({std::to_string(l.layer), fmt(l.losses.clean), fmt(l.losses.zero_ablated), fmt(l.losses.mean_ablated),
                        fmt(l.losses.student), fmt(l.losses.recovered_vs_zero(), "%.3f"), fmt(l.losses.recovered_vs_mean(), "%.3f"),
                        fmt(a.ablation.full.fvu, "%.3f"), fmt(a.activity.l0, "%.1f"), fmt(100 * a.activity.dead_fraction(), "%.1f%%"),
                        fmt(100 * a.counts.fraction(a.counts.simulators), "%.1f%%")});
    }
    doc.table({"layer", "clean loss", "zero-ablated", "mean-ablated", "student spliced", "recovered vs zero", "recovered vs mean",
               "FVU", "L0", "dead", "simulators"},
              rows,
              "Next-token cross-entropy (nats) on the held-out text. Loss recovered = (L_ablated − L_student) / "
              "(L_ablated − L_clean): 1 means the student is as good as the MLP it replaces.");
    for (const auto& l : r.layers) {
        const std::string name = "layer" + std::to_string(l.layer);
        doc.heading("Layer " + std::to_string(l.layer));
        const auto dec = decoder_similarity_figure(name, l.analysis, o.threshold);
        doc.figure(dec.svg, dec.caption);
        const auto enc = encoder_similarity_figure(name, l.analysis);
        doc.figure(enc.svg, enc.caption + " (Against W1, the gate; the JSON also has the match against W3.)");
        const auto freq = activation_frequency_figure(name, l.analysis);
        doc.figure(freq.svg, freq.caption);
        if (!l.analysis.consistency.pairs.empty()) {
            const auto f7 = match_consistency_figure(name, l.analysis);
            doc.figure(f7.svg, f7.caption);
            const auto f8 = simulator_correlation_figure(name, l.analysis);
            doc.figure(f8.svg, f8.caption);
        } else {
            doc.paragraph(name + " has no neuron simulators (Figs 7 and 8 need some).");
        }
        doc.heading("Top-activating contexts (Fig 6), layer " + std::to_string(l.layer), 3);
        doc.paragraph("Each line is a held-out context ending a few tokens after the feature's maximum (outlined); "
                      "the shade is the feature's activation on each token. Sparse features first.");
        std::string html;
        for (std::size_t i = 0; i < l.example_features.size(); ++i) {
            const auto j = static_cast<std::size_t>(l.example_features[i]);
            const auto& examples = l.examples[i];
            html += "<div class=\"sd-feature\"><p><b>feature " + std::to_string(j) + "</b> (" +
                    std::string(sd::analysis::to_string(l.analysis.types[j])) + ", fires on " +
                    fmt(100 * l.analysis.activity.frequency(j), "%.2f") + "% of tokens, max " +
                    fmt(examples.empty() ? 0.0 : examples.front().activation, "%.3g") + ")</p>";
            for (const auto& e : examples) {
                std::vector<std::string> pieces;
                for (int t : e.tokens) pieces.push_back(tok.piece(t));
                html += "<div>" + highlighted_tokens_html(pieces, e.activations, examples.front().activation, e.focus) + "</div>";
            }
            html += "</div>\n";
        }
        doc.raw_html(html);
    }
    return doc;
}

}  // namespace lm_detail

inline int run_lm(const options& o) {
    const auto start_settings = [&] {
        sd::experiments::lm_distillation_settings s;
        const sd::experiments::model_spec spec = student_spec(o);
        s.student = spec.config;
        s.train = spec.train;
        s.window = o.lm.window;
        s.held_out_fraction = o.lm.held_out;
        s.width_ratio = o.lm.width_ratio;
        s.analysis.simulator_threshold = o.threshold;
        s.example_features = o.lm.example_features;
        s.examples_per_feature = o.lm.examples_per_feature;
        s.seed = o.seed;
        return s;
    };
    sd::experiments::lm_distillation_settings settings;
    try {
        settings = start_settings();
    } catch (const std::invalid_argument& e) {
        throw bad_settings(e.what());
    }
    // Files that cannot be read exit with 1; everything about the settings, the model and the text
    // together is checked (exit 2) before the output folder is made.
    const sd::lm::transformer model(sd::lm::read_llama2c_checkpoint(o.lm.checkpoint));
    const sd::lm::tokenizer tok = sd::lm::tokenizer::read(o.lm.tokenizer);
    const std::string text = lm_detail::read_text(o.lm.text);
    sd::lm::text_windows windows;
    try {
        settings.layers = lm_detail::parse_layers(o.lm.layers, model.config().n_layers);
        if (o.d_sae_given) settings.width_ratio = double(o.student.d_sae) / double(model.config().hidden_dim);
        settings.keep_harvest = !o.lm.harvest_dir.empty();
        settings.validate(model.config());
        if (tok.vocab_size() > model.config().vocab_size)
            throw std::invalid_argument("the tokenizer has " + std::to_string(tok.vocab_size()) + " tokens but the model only " +
                                        std::to_string(model.config().vocab_size) + ": they do not belong together");
        windows = sd::experiments::checked_text_windows(tok, text, settings);
    } catch (const std::invalid_argument& e) {
        throw bad_settings(e.what());
    }
    const std::filesystem::path out = o.out;
    std::filesystem::create_directories(out);
    std::FILE* log = std::fopen((out / "metrics.jsonl").c_str(), "w");
    if (!log) throw sd::io::io_error(out / "metrics.jsonl", "file", "cannot open for writing");
    struct closer {
        std::FILE* f;
        ~closer() { std::fclose(f); }
    } close_log{log};

    const auto make_callbacks = [&](int layer, std::int64_t steps) {
        struct layer_callbacks {
            std::optional<sd::progress_bar> bar;
            sd::jsonl_log log;
            void on_step(const sd::step_report<float, sd::backend::cpu>& r) {
                if (bar) bar->on_step(r);
                log.on_step(r);
            }
            void on_finish(const sd::train_summary& s) {
                if (bar) bar->on_finish(s);
            }
        };
        layer_callbacks c{std::nullopt, sd::jsonl_log(log, "layer" + std::to_string(layer))};
        if (!o.quiet) c.bar.emplace("layer " + std::to_string(layer), steps, stderr);
        return c;
    };
    const auto progress = [&](const std::string& stage) {
        if (!o.quiet) std::fprintf(stderr, "%s\n", stage.c_str());
    };
    const auto r = sd::experiments::run_lm_distillation(model, windows, settings, make_callbacks, progress);

    nlohmann::json metrics = {{"checkpoint", o.lm.checkpoint},
                              {"text", o.lm.text},
                              {"window", settings.window},
                              {"train_tokens", r.train_tokens},
                              {"held_out_tokens", r.held_out_tokens},
                              {"held_out_passages", r.held_out_passages},
                              {"clean_loss", r.clean_loss},
                              {"forward_tokens_per_second", r.forward_tokens_per_second},
                              {"layers", nlohmann::json::array()}};
    std::printf("\n%-6s %8s %8s %8s %8s %9s %9s %7s %7s %6s %6s\n", "layer", "clean", "zero", "mean", "student", "rec-zero",
                "rec-mean", "FVU", "L0", "dead%", "sims%");
    for (const auto& l : r.layers) {
        metrics["layers"].push_back(lm_detail::layer_json(l));
        write_text(out / ("features_layer" + std::to_string(l.layer) + ".csv"), sd::analysis::feature_table_csv(l.analysis));
        const auto& a = l.analysis;
        std::printf("%-6d %8.4f %8.4f %8.4f %8.4f %9.3f %9.3f %7.3f %7.1f %6.1f %6.1f\n", l.layer, l.losses.clean,
                    l.losses.zero_ablated, l.losses.mean_ablated, l.losses.student, l.losses.recovered_vs_zero(),
                    l.losses.recovered_vs_mean(), a.ablation.full.fvu, a.activity.l0, 100 * a.activity.dead_fraction(),
                    100 * a.counts.fraction(a.counts.simulators));
    }
    write_text(out / "metrics.json", metrics.dump(2) + "\n");
    lm_detail::lm_report(o, tok, r).write(out / "report.html");
    std::printf("\nforward pass: %.0f tokens/s; held out: the last %zu passages (%zu tokens)\nreport: %s\n",
                r.forward_tokens_per_second, r.held_out_passages, r.held_out_tokens,
                std::filesystem::absolute(out / "report.html").c_str());
    // Last, so a bad harvest folder cannot cost the results above.
    if (!o.lm.harvest_dir.empty()) {
        progress("writing harvested activations to " + o.lm.harvest_dir);
        sd::lm::write_harvest_npy(o.lm.harvest_dir, r.train_harvest);
        std::printf("harvest: %s\n", std::filesystem::absolute(o.lm.harvest_dir).c_str());
    }
    return 0;
}

}  // namespace distill
