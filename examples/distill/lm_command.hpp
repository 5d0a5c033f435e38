#pragma once
// `distill lm`: the post's experiment on a real llama2.c model. Harvest MLP activations from the
// training part of the text, distil each chosen layer (on --backend), analyse on the held-out part,
// splice the student back and measure the loss, and write metrics.json, features_layerL.csv and
// report.html.
#include "common_options.hpp"
#include "output_folder.hpp"

#include <sparse_distill/experiments/lm_distillation.hpp>
#include <sparse_distill/lm.hpp>
#include <sparse_distill/report.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace distill {

struct lm_options {
    std::string checkpoint, tokenizer, text;
    std::vector<std::string> layers = {"all"};
    int window = 128;
    double held_out = 0.1;
    double width_ratio = 4.0;
    std::string harvest_dir;
    sd::index_t example_features = 16, examples_per_feature = 5;
};

inline CLI::App* add_lm_command(CLI::App& app, lm_options& l) {
    CLI::App* lm = app.add_subcommand("lm", "distil the MLPs of a llama2.c model (e.g. stories260K) on real text: harvest, train, "
                                            "analyses, loss recovered, top-activating examples. Training options apply; unless "
                                            "given, λ = 0.03, lr = 0.003 and d_sae = width ratio × d_mlp.");
    lm->fallthrough();
    lm->add_option("--checkpoint", l.checkpoint, "llama2.c v0 checkpoint (.bin)")->required()->check(CLI::ExistingFile);
    lm->add_option("--tokenizer", l.tokenizer, "llama2.c tokenizer.bin")->required()->check(CLI::ExistingFile);
    lm->add_option("--text", l.text, "UTF-8 text, passages separated by blank lines")->required()->check(CLI::ExistingFile);
    lm->add_option("--layers", l.layers, "layers to distil: 'all' or a comma-separated list")->delimiter(',');
    lm->add_option("--window", l.window, "tokens per sequence")->check(CLI::Range(2, 1 << 20));
    lm->add_option("--held-out", l.held_out, "fraction of passages (the last ones) held out for analyses and loss")
        ->check(number_in(0, true, 1, true, "(0, 1)"));
    lm->add_option("--width-ratio", l.width_ratio, "student features per teacher neuron (the post's 4)")->check(positive_number);
    lm->add_option("--harvest-dir", l.harvest_dir, "also write the harvested activations there as .npy files");
    lm->add_option("--example-features", l.example_features, "features shown with top-activating contexts")
        ->check(non_negative_number);
    lm->add_option("--examples-per-feature", l.examples_per_feature, "contexts per feature")->check(positive_number);
    return lm;
}

namespace detail {

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

inline sd::report::html_document lm_report(const shared_options& shared, const student_options& student, const lm_options& o,
                                           const sd::lm::tokenizer& tok, const sd::experiments::lm_distillation_result& r) {
    using namespace sd::report;
    html_document doc("sparse_distill: distilling the MLPs of " + std::filesystem::path(o.checkpoint).filename().string());
    const bool keeps_k = student.arch == "topk" || student.arch == "batchtopk";
    const std::string sparsity_setting = keeps_k                     ? "k = " + std::to_string(student.k)
                                         : student.arch == "jumprelu" ? "L0 coefficient " + fmt(student.l0_coeff, "%g")
                                                                      : "λ = " + fmt(student.l1, "%g");
    char setup[700];
    std::snprintf(setup, sizeof setup,
                  "Model %s, text %s: %zu passages for training (%zu tokens in windows of %d), the last %zu passages held "
                  "out (%zu tokens) for every analysis and loss. Each layer's SwiGLU MLP is distilled into a %s "
                  "student (%s) on %lld tokens of harvested activations, trained on %s. Forward pass: %.0f "
                  "tokens/s.",
                  o.checkpoint.c_str(), o.text.c_str(), r.train_passages, r.train_tokens, o.window, r.held_out_passages,
                  r.held_out_tokens, student.arch.empty() ? student.act.c_str() : student.arch.c_str(), sparsity_setting.c_str(),
                  static_cast<long long>(student.tokens),
                  shared.common.backend.c_str(), r.forward_tokens_per_second);
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
        const auto dec = decoder_similarity_figure(name, l.analysis, shared.common.threshold);
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

}  // namespace detail

/// `distill lm`. Real activations have another scale than the planted default: λ, lr and d_sae have
/// their own defaults here unless given on the command line.
inline int run_lm(const shared_options& shared, const lm_options& o) {
    student_options student = shared.student;
    if (!shared.given("--l1")) student.l1 = 0.03;
    if (!shared.given("--lr")) student.lr = 3e-3;
    const auto start_settings = [&] {
        sd::experiments::lm_distillation_settings s;
        const sd::experiments::model_spec spec = student_spec(student, shared.common.log_every);
        s.student = spec.config;
        s.train = spec.train;
        s.window = o.window;
        s.held_out_fraction = o.held_out;
        s.width_ratio = o.width_ratio;
        s.analysis.simulator_threshold = shared.common.threshold;
        s.example_features = o.example_features;
        s.examples_per_feature = o.examples_per_feature;
        s.seed = shared.common.seed;
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
    const sd::lm::transformer model(sd::lm::read_llama2c_checkpoint(o.checkpoint));
    const sd::lm::tokenizer tok = sd::lm::tokenizer::read(o.tokenizer);
    const std::string text = sd::io::read_text_file(o.text);
    sd::lm::text_windows windows;
    try {
        settings.layers = detail::parse_layers(o.layers, model.config().n_layers);
        if (shared.given("--d-sae")) settings.width_ratio = double(student.d_sae) / double(model.config().hidden_dim);
        settings.keep_harvest = !o.harvest_dir.empty();
        settings.validate(model.config());
        if (tok.vocab_size() > model.config().vocab_size)
            throw std::invalid_argument("the tokenizer has " + std::to_string(tok.vocab_size()) + " tokens but the model only " +
                                        std::to_string(model.config().vocab_size) + ": they do not belong together");
        windows = sd::experiments::checked_text_windows(tok, text, settings);
    } catch (const std::invalid_argument& e) {
        throw bad_settings(e.what());
    }
    check_memory_for(settings.student_for(model.config()), settings.train.batch_size, sizeof(float));
    const output_folder out(shared.common.out, shared.common.quiet);
    const auto callbacks = [&](int layer, std::int64_t steps) { return out.callbacks("layer" + std::to_string(layer), steps); };
    const auto progress = [&](const std::string& stage) { out.progress(stage); };
    const auto r = with_backend(shared.common.backend, [&]<class Backend>() {
        return sd::experiments::run_lm_distillation<Backend>(model, windows, settings, callbacks, progress);
    });

    nlohmann::json metrics = {{"checkpoint", o.checkpoint},
                              {"text", o.text},
                              {"backend", shared.common.backend},
                              {"window", settings.window},
                              {"student", settings.student_for(model.config())},
                              {"train", settings.train},
                              {"train_tokens", r.train_tokens},
                              {"held_out_tokens", r.held_out_tokens},
                              {"held_out_passages", r.held_out_passages},
                              {"clean_loss", r.clean_loss},
                              {"forward_tokens_per_second", r.forward_tokens_per_second},
                              {"layers", nlohmann::json::array()}};
    std::printf("\n%-6s %8s %8s %8s %8s %9s %9s %7s %7s %6s %6s\n", "layer", "clean", "zero", "mean", "student", "rec-zero",
                "rec-mean", "FVU", "L0", "dead%", "sims%");
    for (const auto& l : r.layers) {
        metrics["layers"].push_back(detail::layer_json(l));
        out.write_text("features_layer" + std::to_string(l.layer) + ".csv", sd::analysis::feature_table_csv(l.analysis));
        const auto& a = l.analysis;
        std::printf("%-6d %8.4f %8.4f %8.4f %8.4f %9.3f %9.3f %7.3f %7.1f %6.1f %6.1f\n", l.layer, l.losses.clean,
                    l.losses.zero_ablated, l.losses.mean_ablated, l.losses.student, l.losses.recovered_vs_zero(),
                    l.losses.recovered_vs_mean(), a.ablation.full.fvu, a.activity.l0, 100 * a.activity.dead_fraction(),
                    100 * a.counts.fraction(a.counts.simulators));
    }
    out.write_metrics(metrics);
    std::printf("\nforward pass: %.0f tokens/s; held out: the last %zu passages (%zu tokens)\n", r.forward_tokens_per_second,
                r.held_out_passages, r.held_out_tokens);
    out.write_report(detail::lm_report(shared, student, o, tok, r));
    // Last, so a bad harvest folder cannot cost the results above.
    if (!o.harvest_dir.empty()) {
        out.progress("writing harvested activations to " + o.harvest_dir);
        sd::lm::write_harvest_npy(o.harvest_dir, r.train_harvest);
        std::printf("harvest: %s\n", std::filesystem::absolute(o.harvest_dir).c_str());
    }
    return 0;
}

}  // namespace distill
