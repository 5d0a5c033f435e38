#pragma once
// `distill lm`: the post's experiment on a real model — a llama2.c checkpoint (--checkpoint,
// --tokenizer) or a Hugging Face GPT-2 / GPT-Neo / Llama folder (--model). Harvest MLP activations
// from the training text (--text, or ids with --token-ids), distil each chosen layer (on --backend),
// analyse on the held-out part (the last passages, or --eval-text / --eval-token-ids), splice the
// student back and measure the loss, and write metrics.json, features_layerL.csv and report.html.
#include "common_options.hpp"
#include "output_folder.hpp"
#include "ranks.hpp"

#include <sparse_distill/experiments/lm_distillation.hpp>
#include <sparse_distill/lm.hpp>
#include <sparse_distill/report.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace distill {

struct lm_options {
    std::string checkpoint, model, tokenizer, text, tokens, eval_text, eval_tokens;
    std::vector<std::string> layers = {"all"};
    int window = 128;
    double held_out = 0.1;
    double width_ratio = 4.0;
    std::string harvest_dir;
    std::string save, save_format = "saelens";
    sd::index_t example_features = 16, examples_per_feature = 5;
    sd::index_t analysis_tokens = 65536;
};

inline CLI::App* add_lm_command(CLI::App& app, lm_options& l) {
    CLI::App* lm = app.add_subcommand("lm", "distil the MLPs of a language model — llama2.c (e.g. stories260K) or a Hugging Face "
                                            "GPT-2 / GPT-Neo / Llama folder — on real text: harvest, train, analyses, loss "
                                            "recovered, top-activating examples. Training options apply; unless given, λ = 0.03, "
                                            "lr = 0.003 and d_sae = width ratio × d_mlp.");
    lm->fallthrough();
    lm->add_option("--checkpoint", l.checkpoint, "llama2.c v0 checkpoint (.bin), with --tokenizer")->check(CLI::ExistingFile);
    lm->add_option("--model", l.model, "Hugging Face model folder: config.json + model.safetensors (or its index and shards); "
                                       "its tokenizer.json is used when present")
        ->check(CLI::ExistingDirectory);
    lm->add_option("--tokenizer", l.tokenizer, "llama2.c tokenizer.bin (with --checkpoint) or a tokenizer.json (with --model)")
        ->check(CLI::ExistingFile);
    lm->add_option("--text", l.text, "UTF-8 text, passages separated by blank lines")->check(CLI::ExistingFile);
    // Not --tokens: that is the training length (tokens per model) of every subcommand.
    lm->add_option("--token-ids", l.tokens, "token ids (.npy of integers, any shape, read in C order) instead of --text")
        ->check(CLI::ExistingFile);
    lm->add_option("--eval-text", l.eval_text, "held-out text for analyses and losses (with --text; instead of --held-out)")
        ->check(CLI::ExistingFile);
    lm->add_option("--eval-token-ids", l.eval_tokens, "held-out token ids (with --token-ids; instead of --held-out)")
        ->check(CLI::ExistingFile);
    lm->add_option("--layers", l.layers, "layers to distil: 'all' or a comma-separated list")->delimiter(',');
    lm->add_option("--window", l.window, "tokens per sequence")->check(CLI::Range(2, 1 << 20));
    lm->add_option("--held-out", l.held_out, "fraction of passages (the last ones) held out for analyses and loss")
        ->check(number_in(0, true, 1, true, "(0, 1)"));
    lm->add_option("--width-ratio", l.width_ratio, "student features per teacher neuron (the post's 4)")->check(positive_number);
    lm->add_option("--harvest-dir", l.harvest_dir,
                   "stream the training activations there as .npy shards (layerL_mlp_in.NNNNN.npy, layerL_mlp_out.…, "
                   "tokens.npy, positions.npy) and train from them: memory no longer grows with the text");
    lm->add_option("--save", l.save, "write every distilled layer's student there (see --save-format)");
    lm->add_option("--save-format", l.save_format,
                   "layout of --save: saelens (DIR/layer_L, with the model and hook names), sparsify (DIR/<hookpoint>, "
                   "for load_many), circuit-tracer (a transcoder set: config.yaml + layer_L.safetensors, needs --layers "
                   "all) or native (every student exactly)")
        ->check(CLI::IsMember({"saelens", "sparsify", "circuit-tracer", "native"}));
    lm->add_option("--analysis-tokens", l.analysis_tokens,
                   "held-out tokens the analyses see, from the start of the held-out part (0: all; the losses always use all)")
        ->check(non_negative_number);
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
                                           const std::string& model_name, const std::string& mlp_kind,
                                           const std::function<std::string(int)>& piece,
                                           const sd::experiments::lm_distillation_result& r) {
    using namespace sd::report;
    const std::string text_name = !o.text.empty() ? o.text : o.tokens;
    html_document doc("sparse_distill: distilling the MLPs of " + std::filesystem::path(model_name).filename().string());
    const bool keeps_k = student.arch == "topk" || student.arch == "batchtopk";
    const std::string sparsity_setting = keeps_k                     ? "k = " + std::to_string(student.k)
                                         : student.arch == "jumprelu" ? "L0 coefficient " + fmt(student.l0_coeff, "%g")
                                                                      : "λ = " + fmt(student.l1, "%g");
    char setup[800];
    std::snprintf(setup, sizeof setup,
                  "Model %s, text %s: %zu passages for training (%zu tokens in windows of %d), %zu passages held "
                  "out (%zu tokens): the losses use all of them, the analyses the first %zu. Each layer's %s MLP is distilled into a %s "
                  "student (%s) on %lld tokens of harvested activations, trained on %s. Forward pass: %.0f "
                  "tokens/s.",
                  model_name.c_str(), text_name.c_str(), r.train_passages, r.train_tokens, o.window, r.held_out_passages,
                  r.held_out_tokens, r.analysed_tokens, mlp_kind.c_str(), student.arch.empty() ? student.act.c_str() : student.arch.c_str(), sparsity_setting.c_str(),
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
        doc.figure(enc.svg, enc.caption + (mlp_kind == "SwiGLU" ? " (Against W1, the gate; the JSON also has the match against W3.)" : ""));
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
                for (int t : e.tokens) pieces.push_back(piece(t));
                html += "<div>" + highlighted_tokens_html(pieces, e.activations, examples.front().activation, e.focus) + "</div>";
            }
            html += "</div>\n";
        }
        doc.raw_html(html);
    }
    return doc;
}

/// Token ids from a .npy of integers (any shape, C order), each checked against the vocabulary.
inline std::vector<int> read_token_ids(const std::string& path, int vocab_size) {
    const sd::io::tensor_data t = sd::io::read_npy(path);
    if (t.type == sd::io::dtype::f16 || t.type == sd::io::dtype::bf16 || t.type == sd::io::dtype::f32 || t.type == sd::io::dtype::f64)
        throw sd::io::io_error(path, "dtype", "expected integer token ids, found " + std::string(sd::io::dtype_name(t.type)));
    const std::vector<int> ids = sd::io::to_values<int>(t);
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || ids[i] >= vocab_size)
            throw bad_settings(path + ": token " + std::to_string(i) + ": id " + std::to_string(ids[i]) + " outside the model's vocabulary [0, " +
                               std::to_string(vocab_size) + ")");
    return ids;
}

/// The windows of --text/--eval-text (with `tok`) or of --token-ids/--eval-token-ids.
template <class Tokenizer>
sd::lm::text_windows lm_windows(const lm_options& o, const Tokenizer* tok, int vocab_size, const sd::experiments::lm_distillation_settings& s) {
    if (!o.tokens.empty()) {
        const std::vector<int> ids = read_token_ids(o.tokens, vocab_size);
        if (o.eval_tokens.empty()) return sd::experiments::checked_windows(sd::lm::make_token_windows(ids, s.window, s.held_out_fraction), s);
        sd::lm::text_windows w = sd::lm::make_token_windows(ids, s.window, 0.0);
        const sd::lm::text_windows eval = sd::lm::make_token_windows(read_token_ids(o.eval_tokens, vocab_size), s.window, 0.0);
        w.held_out = eval.train;
        w.held_out_passages = eval.train_passages;
        w.held_out_tokens = eval.train_tokens;
        return sd::experiments::checked_windows(std::move(w), s);
    }
    const std::string text = sd::io::read_text_file(o.text);
    if (o.eval_text.empty()) return sd::experiments::checked_text_windows(*tok, text, s);
    return sd::experiments::checked_windows(sd::lm::make_text_windows(*tok, text, sd::io::read_text_file(o.eval_text), s.window), s);
}

/// Throws std::invalid_argument when --save-format cannot hold the students this run trains.
template <class ModelConfig>
void check_lm_save(const lm_options& o, const sd::experiments::lm_distillation_settings& s, const ModelConfig& model) {
    const sd::student_config c = s.student_for(model);
    if (o.save_format == "circuit-tracer") {
        if (const std::string problem = sd::io::circuit_tracer_export_problem(c); !problem.empty())
            throw std::invalid_argument("--save-format circuit-tracer: " + problem);
        if (!s.layers.empty() && static_cast<int>(s.layers.size()) != model.n_layers)
            throw std::invalid_argument("--save-format circuit-tracer: a transcoder set has every layer 0.." + std::to_string(model.n_layers - 1) +
                                        "; distil them all (--layers all)");
        return;
    }
    if (const std::string problem = sd::io::student_export_problem(c, sd::io::parse_student_format(o.save_format)); !problem.empty())
        throw std::invalid_argument("--save-format " + o.save_format + ": " + problem);
}

/// "gpt2", "gpt_neo" or "llama" for a Hugging Face model; "llama2c" for a llama2.c checkpoint.
inline std::string model_family_of(const sd::lm::transformer&) { return "llama2c"; }
inline std::string model_family_of(const sd::lm::decoder_transformer<float>& m) { return std::string(sd::lm::to_string(m.config().family)); }

/// The name the saved students record as their model: the Hugging Face name (config.json's
/// _name_or_path, else the folder's name) or the llama2.c checkpoint's file stem.
inline std::string model_id(const sd::lm::transformer&, const lm_options& o) { return std::filesystem::path(o.checkpoint).stem().string(); }
inline std::string model_id(const sd::lm::decoder_transformer<float>& m, const lm_options&) { return m.config().name; }

/// Where sparsify's load_many finds layer `layer`: a folder named after the MLP module it hooks.
inline std::string sparsify_hookpoint(const std::string& family, int layer) {
    const std::string l = std::to_string(layer);
    if (family == "gpt2" || family == "gpt_neo") return "transformer.h." + l + ".mlp";
    if (family == "llama") return "model.layers." + l + ".mlp";
    return "layers." + l + ".mlp";
}

/// Writes every distilled layer in --save-format (check_lm_save said it can).
inline void save_lm_students(const lm_options& o, const std::string& model_name, const std::string& family,
                             const sd::experiments::lm_distillation_settings& s, int n_layers,
                             const sd::experiments::lm_distillation_result& r) {
    const std::filesystem::path dir = o.save;
    if (o.save_format == "circuit-tracer") {
        std::vector<sd::io::transcoder_layer<float>> layers;
        for (const auto& l : r.layers) layers.push_back({l.layer, l.config, l.weights, l.batch_threshold});
        sd::io::write_transcoder_set(dir, model_name, layers, n_layers);
        return;
    }
    const sd::io::student_format format = sd::io::parse_student_format(o.save_format);
    for (const auto& l : r.layers) {
        sd::io::student_provenance provenance;
        provenance.model_name = model_name;
        // transformer_lens's names: the MLP's input is ln2's output, its output hook_mlp_out.
        provenance.hook_name = "blocks." + std::to_string(l.layer) + ".ln2.hook_normalized";
        provenance.hook_name_out = "blocks." + std::to_string(l.layer) + ".hook_mlp_out";
        provenance.context_size = s.window;
        const std::string folder = format == sd::io::student_format::sparsify ? sparsify_hookpoint(family, l.layer)
                                                                               : "layer_" + std::to_string(l.layer);
        sd::io::write_student(dir / folder, format, l.config, l.weights, provenance, l.batch_threshold);
    }
}

/// Refuses (exit 2) an in-memory harvest larger than half the machine's memory, pointing to --harvest-dir.
inline void check_harvest_memory(const sd::lm::text_windows& w, const sd::experiments::lm_distillation_settings& s, int dim,
                                 int n_layers) {
    const double rows = double(w.train.size() + w.held_out.size()) * s.window;
    const double layers = s.layers.empty() ? double(n_layers) : double(s.layers.size());  // empty: every layer
    const double bytes = rows * layers * 2.0 * dim * sizeof(float), available = sd::physical_memory_bytes();
    if (available > 0 && bytes > 0.5 * available) {
        char text[300];
        std::snprintf(text, sizeof text,
                      "lm: the harvest of %.0f tokens × %.0f layers would hold %.1f GiB in memory, more than half of this machine's "
                      "%.1f GiB: stream it to disk with --harvest-dir DIR",
                      rows, layers, bytes / double(1 << 30), available / double(1 << 30));
        throw bad_settings(text);
    }
}

/// The rest of `distill lm` once the model (and its tokenizer, which may be absent with --token-ids) is read.
template <class Model, class Tokenizer>
int run_lm_on(const shared_options& shared, const lm_options& o, const student_options& student,
              sd::experiments::lm_distillation_settings settings, const Model& model, const Tokenizer* tok,
              const std::string& model_name, const std::string& mlp_kind, launch& ranks) {
    sd::lm::text_windows windows;
    try {
        settings.layers = parse_layers(o.layers, model.config().n_layers);
        if (shared.given("--d-sae")) settings.width_ratio = double(student.d_sae) / double(model.config().hidden_dim);
        settings.harvest_folder = o.harvest_dir;
        settings.validate(model.config());
        if (tok && tok->vocab_size() > model.config().vocab_size)
            throw std::invalid_argument("the tokenizer has " + std::to_string(tok->vocab_size()) + " tokens but the model only " +
                                        std::to_string(model.config().vocab_size) + ": they do not belong together");
        windows = lm_windows(o, tok, model.config().vocab_size, settings);
        if (!o.save.empty()) check_lm_save(o, settings, model.config());
        if (ranks.several()) {
            if (o.harvest_dir.empty())
                throw std::invalid_argument("lm on " + std::to_string(ranks.size()) + " ranks needs --harvest-dir DIR, on a file system "
                                            "every rank sees: each rank harvests its share of the windows there");
            if (settings.student.sparsity == sd::sparsity_mode::batchtopk || settings.train.loss.auxk.enabled())
                throw std::invalid_argument("--arch batchtopk and --auxk-alpha run on one rank only (BatchTopK selects over the "
                                            "whole batch, AuxK normalises by its variance); " + std::to_string(ranks.size()) +
                                            " were launched");
            (void)sd::comm::rank_rows::of(settings.train.batch_size, ranks.rank(), ranks.size());
        }
    } catch (const std::invalid_argument& e) {
        throw bad_settings(e.what());
    }
    if (!o.save.empty()) sd::io::check_student_destination(o.save);
    check_memory_for(settings.student_for(model.config()), settings.train.batch_size, sizeof(float));
    if (o.harvest_dir.empty()) check_harvest_memory(windows, settings, model.config().dim, model.config().n_layers);
    // Only rank 0 writes and prints; the others train their rows and compute the same analyses.
    const output_folder out = ranks.writes() ? output_folder(shared.common.out, shared.common.quiet) : output_folder::silent();
    const auto callbacks = [&](int layer, std::int64_t steps) { return out.callbacks("layer" + std::to_string(layer), steps); };
    const auto progress = [&](const std::string& stage) { out.progress(stage); };
    ranks.setup_done();
    const auto r = with_backend(shared.common.backend, [&]<class Backend>() {
        return sd::experiments::run_lm_distillation<Backend>(model, windows, settings, callbacks, progress, ranks.comm());
    });
    if (!ranks.writes()) return 0;

    nlohmann::json metrics = {{"model", model_name},
                              {"text", !o.text.empty() ? o.text : o.tokens},
                              {"eval_text", !o.eval_text.empty() ? o.eval_text : o.eval_tokens},
                              {"backend", shared.common.backend},
                              {"window", settings.window},
                              {"student", settings.student_for(model.config())},
                              {"train", settings.train},
                              {"train_tokens", r.train_tokens},
                              {"held_out_tokens", r.held_out_tokens},
                              {"held_out_passages", r.held_out_passages},
                              {"analysed_tokens", r.analysed_tokens},
                              {"clean_loss", r.clean_loss},
                              {"forward_tokens_per_second", r.forward_tokens_per_second},
                              {"ranks", ranks.size()},
                              {"layers", nlohmann::json::array()}};
    if (!o.checkpoint.empty()) metrics["checkpoint"] = o.checkpoint;
    std::printf("\n%-6s %8s %8s %8s %8s %9s %9s %7s %7s %6s %6s\n", "layer", "clean", "zero", "mean", "student", "rec-zero",
                "rec-mean", "FVU", "L0", "dead%", "sims%");
    for (const auto& l : r.layers) {
        metrics["layers"].push_back(layer_json(l));
        out.write_text("features_layer" + std::to_string(l.layer) + ".csv", sd::analysis::feature_table_csv(l.analysis));
        const auto& a = l.analysis;
        std::printf("%-6d %8.4f %8.4f %8.4f %8.4f %9.3f %9.3f %7.3f %7.1f %6.1f %6.1f\n", l.layer, l.losses.clean,
                    l.losses.zero_ablated, l.losses.mean_ablated, l.losses.student, l.losses.recovered_vs_zero(),
                    l.losses.recovered_vs_mean(), a.ablation.full.fvu, a.activity.l0, 100 * a.activity.dead_fraction(),
                    100 * a.counts.fraction(a.counts.simulators));
    }
    out.write_metrics(metrics);
    std::printf("\nforward pass: %.0f tokens/s; held out: %zu passages (%zu tokens)\n", r.forward_tokens_per_second,
                r.held_out_passages, r.held_out_tokens);
    const std::function<std::string(int)> piece = [tok](int id) { return tok ? tok->piece(id) : "#" + std::to_string(id) + " "; };
    out.write_report(lm_report(shared, student, o, model_name, mlp_kind, piece, r));
    if (!o.save.empty()) {
        out.progress("writing the students to " + o.save);
        save_lm_students(o, model_id(model, o), model_family_of(model), settings, model.config().n_layers, r);
        std::printf("students (%s): %s\n", o.save_format.c_str(), std::filesystem::absolute(o.save).c_str());
    }
    if (!o.harvest_dir.empty()) std::printf("harvest: %s\n", std::filesystem::absolute(o.harvest_dir).c_str());
    return 0;
}

}  // namespace detail

/// `distill lm`. Real activations have another scale than the planted default: λ, lr and d_sae have
/// their own defaults here unless given on the command line.
inline int run_lm(const shared_options& shared, const lm_options& o, launch& ranks) {
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
        s.analysis_tokens = o.analysis_tokens;
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
    if (o.model.empty() == o.checkpoint.empty())
        throw bad_settings("lm: give --model DIR (a Hugging Face folder) or --checkpoint FILE --tokenizer FILE (llama2.c), one of them");
    if (o.text.empty() == o.tokens.empty()) throw bad_settings("lm: give --text FILE or --token-ids FILE, one of them");
    if (!o.eval_text.empty() && o.text.empty()) throw bad_settings("lm: --eval-text goes with --text (use --eval-token-ids with --token-ids)");
    if (!o.eval_tokens.empty() && o.tokens.empty()) throw bad_settings("lm: --eval-token-ids goes with --token-ids (use --eval-text with --text)");
    if (!o.checkpoint.empty()) {
        if (o.tokenizer.empty()) throw bad_settings("lm: --checkpoint needs --tokenizer (llama2.c's tokenizer.bin)");
        const sd::lm::transformer model(sd::lm::read_llama2c_checkpoint(o.checkpoint));
        const sd::lm::tokenizer tok = sd::lm::tokenizer::read(o.tokenizer);
        return detail::run_lm_on(shared, o, student, settings, model, &tok, o.checkpoint, "SwiGLU", ranks);
    }
    const sd::lm::decoder_transformer<float> model(sd::lm::read_hf_model<float>(o.model));
    std::optional<sd::lm::hf_tokenizer> tok;
    const std::filesystem::path tokenizer_file =
        !o.tokenizer.empty() ? std::filesystem::path(o.tokenizer) : std::filesystem::path(o.model) / "tokenizer.json";
    if (!o.tokenizer.empty() || std::filesystem::is_regular_file(tokenizer_file)) tok = sd::lm::hf_tokenizer::read(tokenizer_file);
    else if (!o.text.empty())
        throw bad_settings("lm: --text needs a tokenizer: " + tokenizer_file.string() + " does not exist; give --tokenizer FILE (a "
                           "tokenizer.json) or token ids with --token-ids");
    if (tok && tok->vocab_size() > model.config().vocab_size)
        throw bad_settings(tokenizer_file.string() + ": vocabulary: " + std::to_string(tok->vocab_size()) + " tokens, but " +
                           (std::filesystem::path(o.model) / "config.json").string() + " has vocab_size " +
                           std::to_string(model.config().vocab_size) + ": the tokenizer does not belong to this model");
    const std::string kind = model.config().gated_mlp ? "SwiGLU" : std::string(sd::activation_names.name(model.config().mlp_activation)) + " (" +
                                                                         std::string(sd::lm::to_string(model.config().family)) + ")";
    return detail::run_lm_on(shared, o, student, settings, model, tok ? &*tok : nullptr, o.model, kind, ranks);
}

}  // namespace distill
