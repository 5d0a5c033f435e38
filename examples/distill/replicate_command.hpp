#pragma once
// `distill replicate`: the replication study of the post (experiments/replication/): every claim on planted
// data over several seeds, with one setting per hypothesis for why a claim differs, the single-neuron toy
// under each decoder constraint, and with --lm-checkpoint a real llama2.c model (every layer, every seed,
// plus λ and k sweeps). Writes replication.json, replication.html and a table on stdout; each finished
// run is kept in OUT/runs/, so a study started again on the same folder resumes where it stopped.
#include "lm_command.hpp"
#include "output_folder.hpp"
#include "planted_options.hpp"
#include "replication_page.hpp"

#include <sparse_distill/experiments/replication/claims.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace distill {

struct replicate_options {
    int seeds = 5;
    bool quick = false;
    std::vector<double> l1_values = {0.03, 0.1, 0.3, 1.0};
    bool no_hypotheses = false, no_single_neuron = false;
    std::int64_t neuron_steps = 10000;
    std::string lm_checkpoint, lm_tokenizer, lm_text;
    std::vector<std::string> lm_layers = {"all"};
    std::int64_t lm_tokens = 500'000;
    double lm_l1 = 0.03, lm_lr = 3e-3;
    std::vector<double> lm_l1_values = {0.01, 0.03, 0.1, 0.3};
    std::vector<sd::index_t> lm_k_values = {8, 16, 32};
};

/// What --quick changes: a smoke test of the whole study in about a minute on two cores. Its numbers
/// are not evidence (models see ~20× fewer tokens, the single neuron 5× fewer steps).
struct quick_study {
    static constexpr int seeds = 2;
    static constexpr std::int64_t tokens = 50'000, eval_tokens = 4096, neuron_steps = 2000, lm_tokens = 50'000;
    static inline const std::vector<double> l1_values = {0.03, 0.3}, lm_l1_values = {0.1};
    static inline const std::vector<sd::index_t> lm_k_values = {16};
};

inline CLI::App* add_replicate_command(CLI::App& app, replicate_options& o) {
    CLI::App* r = app.add_subcommand("replicate", "the replication study: every claim of the post over several seeds, a verdict per "
                                                  "claim by rules fixed in the code, and the runs that test why; replication.html");
    r->fallthrough();
    r->add_option("--seeds", o.seeds, "seeds per setting (--seed is the first)")->check(CLI::Range(1, 1000));
    r->add_flag("--quick", o.quick, "a smoke test of the whole study (2 seeds, 50k tokens per model): its numbers are not evidence");
    r->add_option("--l1-values", o.l1_values, "the planted λ sweep (our λ, --l1, is added)")->delimiter(',')->check(non_negative_number);
    r->add_flag("--no-hypotheses", o.no_hypotheses, "only the λ sweep on planted data, not the settings that test each hypothesis");
    r->add_flag("--no-single-neuron", o.no_single_neuron, "skip the single-neuron toy");
    r->add_option("--neuron-steps", o.neuron_steps, "single-neuron toy: Adam steps (the post's 10,000)")->check(positive_number);
    auto* lm = r->add_option_group("Language model", "a llama2.c model distilled on every layer (skipped without --lm-checkpoint)");
    lm->add_option("--lm-checkpoint", o.lm_checkpoint, "llama2.c checkpoint, e.g. stories260K.bin")->check(CLI::ExistingFile);
    lm->add_option("--lm-tokenizer", o.lm_tokenizer, "its tokenizer.bin")->check(CLI::ExistingFile);
    lm->add_option("--lm-text", o.lm_text, "text, passages separated by blank lines (the last 10% held out)")->check(CLI::ExistingFile);
    lm->add_option("--lm-layers", o.lm_layers, "'all' or a comma-separated list")->delimiter(',');
    lm->add_option("--lm-tokens", o.lm_tokens, "training tokens per student")->check(positive_number);
    lm->add_option("--lm-l1", o.lm_l1, "our λ on the language model (every seed)")->check(non_negative_number);
    lm->add_option("--lm-lr", o.lm_lr, "learning rate on the language model")->check(positive_number);
    lm->add_option("--lm-l1-values", o.lm_l1_values, "the first seed's λ sweep (ReLU, GELU, SAE)")->delimiter(',')->check(non_negative_number);
    lm->add_option("--lm-k-values", o.lm_k_values, "the first seed's TopK sweep")->delimiter(',')->check(positive_number);
    return r;
}

namespace detail {

inline void print_replication(const std::vector<sd::experiments::replication::claim_outcome>& claims, std::FILE* out = stdout) {
    namespace rp = sd::experiments::replication;
    std::fprintf(out, "\n%-26s %-22s %s\n", "claim", "post", "verdict");
    for (const rp::claim_outcome& c : claims) {
        std::fprintf(out, "%-26s %-22s %s\n", c.what.id.c_str(), c.what.post_value.c_str(), c.verdict.c_str());
        for (const rp::setting_outcome& s : c.settings)
            std::fprintf(out, "    %-34s %8s ± %-7s  [%s, %s]  %s\n", s.setting.c_str(), fmt(s.values.mean(), "%.3f").c_str(),
                         fmt(s.values.sd(), "%.3f").c_str(), fmt(s.values.min(), "%.3f").c_str(), fmt(s.values.max(), "%.3f").c_str(),
                         std::string(rp::to_string(s.outcome)).c_str());
    }
    std::fprintf(out, "\nEach setting: mean ± sd over seeds [min, max] of what the claim measures, and its verdict by the claim's "
                      "rule (replication.json and replication.html state each rule).\n");
}

}  // namespace detail

inline int run_replicate(const shared_options& shared, planted_options planted, const replicate_options& given) {
    namespace rp = sd::experiments::replication;
    using detail::fmt;
    replicate_options o = given;
    student_options student = shared.student;
    if (!student.arch.empty() && student.arch != "relu")
        throw bad_settings("replicate: the post's claims are about a ReLU student with L1 (--arch relu), not --arch " + student.arch);
    if (student.act != "relu") throw bad_settings("replicate: the study trains a ReLU student and its GELU twin itself; leave --act out");
    if (o.quick) {
        // Quick sizes for whatever was not given.
        const CLI::App* sub = shared.app->get_subcommand("replicate");
        const auto given_here = [&](const char* name) { return sub->count(name) > 0; };
        if (!given_here("--seeds")) o.seeds = quick_study::seeds;
        if (!shared.given("--tokens")) student.tokens = quick_study::tokens;
        if (!shared.given("--eval-tokens")) planted.eval_tokens = quick_study::eval_tokens;
        if (!given_here("--neuron-steps")) o.neuron_steps = quick_study::neuron_steps;
        if (!given_here("--l1-values")) o.l1_values = quick_study::l1_values;
        if (!given_here("--lm-tokens")) o.lm_tokens = quick_study::lm_tokens;
        if (!given_here("--lm-l1-values")) o.lm_l1_values = quick_study::lm_l1_values;
        if (!given_here("--lm-k-values")) o.lm_k_values = quick_study::lm_k_values;
    }
    const bool with_lm = !o.lm_checkpoint.empty();
    if (with_lm && (o.lm_tokenizer.empty() || o.lm_text.empty()))
        throw bad_settings("replicate: --lm-checkpoint needs --lm-tokenizer and --lm-text");
    if (!with_lm && (!o.lm_tokenizer.empty() || !o.lm_text.empty()))
        throw bad_settings("replicate: --lm-tokenizer and --lm-text go with --lm-checkpoint");

    rp::study_settings s;
    rp::lm_study_settings lm_settings;
    try {
        const auto experiment = planted_settings(shared, planted, student, /*baselines=*/true);
        s.planted.base = experiment;
        s.planted.base.models.clear();
        s.planted.student = experiment.models.front();
        if (planted.no_sae) throw bad_settings("replicate: the study compares with the SAE baseline; leave --no-sae out");
        s.planted.sae = experiment.models.back();
        s.planted.l1_values = o.l1_values;
        s.planted.hypotheses = !o.no_hypotheses;
        s.seeds = o.seeds;
        s.first_seed = shared.common.seed;
        s.single_neuron = !o.no_single_neuron;
        s.neuron.steps = o.neuron_steps;
        s.cache = std::filesystem::path(shared.common.out) / "runs";
        s.validate();
        for (const auto& setting : rp::planted_settings_of(s.planted)) setting.experiment.validate();
        if (with_lm) {
            student_options lm_student = student;
            lm_student.l1 = o.lm_l1;
            lm_student.lr = o.lm_lr;
            lm_student.tokens = o.lm_tokens;
            const sd::experiments::model_spec spec = student_spec(lm_student, shared.common.log_every);
            lm_settings.base.student = spec.config;
            lm_settings.base.train = spec.train;
            lm_settings.base.analysis.simulator_threshold = shared.common.threshold;
            lm_settings.l1_values = o.lm_l1_values;
            lm_settings.k_values = o.lm_k_values;
        }
    } catch (const std::invalid_argument& e) {
        throw bad_settings(std::string("replicate: ") + e.what());
    }
    // The model and text are read (exit 1 when they cannot be) before the output folder is made.
    std::optional<sd::lm::transformer> model;
    sd::lm::text_windows windows;
    if (with_lm) {
        model.emplace(sd::lm::read_llama2c_checkpoint(o.lm_checkpoint));
        const sd::lm::tokenizer tok = sd::lm::tokenizer::read(o.lm_tokenizer);
        try {
            lm_settings.base.layers = detail::parse_layers(o.lm_layers, model->config().n_layers);
            lm_settings.base.validate(model->config());
            windows = sd::experiments::checked_text_windows(tok, sd::io::read_text_file(o.lm_text), lm_settings.base);
        } catch (const std::invalid_argument& e) {
            throw bad_settings(std::string("replicate: ") + e.what());
        }
    }

    const output_folder out(shared.common.out, shared.common.quiet);
    const auto start = std::chrono::steady_clock::now();
    const auto progress = [&](const std::string& text) { out.progress(text); };
    rp::study_result r = with_backend(shared.common.backend, [&]<class Backend>() {
        rp::study_result result = rp::run_planted_study<Backend>(
            s, [&](const sd::experiments::model_spec& spec, std::int64_t steps) { return out.callbacks(spec.name, steps); }, progress);
        if (with_lm)
            rp::run_lm_study<Backend>(result, *model, std::filesystem::path(o.lm_checkpoint).stem().string(), windows, lm_settings, s.cache,
                                      [&](int layer, std::int64_t steps) { return out.callbacks("layer" + std::to_string(layer), steps); },
                                      progress);
        return result;
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::vector<rp::claim_outcome> claims = rp::judge_claims(r);

    std::string command = "distill";
    for (const std::string& a : shared.arguments) command += " " + a;
    out.write_text("replication.json", replication_json(r, claims, o.quick, seconds, command).dump(1) + "\n");
    detail::print_replication(claims);
    std::printf("\n%s study: %zu planted runs, %zu single-neuron runs, %zu language-model runs in %.0f s (%zu runs read from %s)\n",
                o.quick ? "quick" : "full", r.planted.size(), r.single_neuron.size(), r.lm.size(), seconds, r.runs_from_cache,
                s.cache.string().c_str());
    out.write_report(replication_page(r, claims, o.quick, seconds, command), "replication.html");
    return 0;
}

}  // namespace distill
