#pragma once
// The runs of the replication study, over several seeds:
//  - planted data (experiments/planted_distillation.hpp): our recipe at each λ of a sweep (a ReLU student and
//    its GELU twin, the SAE baseline at the recipe's own λ), and one setting per hypothesis for why a claim
//    might differ from the post: the post's own training recipe, decoder rows held at norm 1, a ReLU teacher,
//    dense (nearly Gaussian) inputs, a teacher with twice the neurons, every width doubled;
//  - the single-neuron toy (experiments/single_neuron.hpp) under each decoder-norm constraint;
//  - a real language model (experiments/lm_distillation.hpp): the ReLU student and its GELU twin on every
//    layer at every seed, and on the first seed λ sweeps of ReLU and GELU students and SAEs and a k sweep of
//    TopK students.
// Each run (a setting at a seed) is written to the cache folder as JSON when it ends; a study started again
// on the same folder reads the runs that are there, so a study that was stopped loses at most one run.
#include "../../io/text_file.hpp"
#include "../lm_distillation.hpp"
#include "../planted_distillation.hpp"
#include "../single_neuron.hpp"
#include "measurements.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparse_distill::experiments::replication {

/// The post's training recipe, as its code has it (slavachalnev/ft_exp: train.py, model.py, config.py):
/// L1 = λ·Σ_b Σ_j a_bj with λ = 2e-4 (summed over the batch, not averaged), batch 1024, Adam with coupled
/// L2 weight decay 1e-4 and betas (0.9, 0.99), lr 5e-5 decayed by a cosine to 1% with no warmup, decoder
/// rows renormalised to norm 1 after every step. Its squared error is summed over dimensions and averaged
/// over tokens, as ours.
inline void apply_post_recipe(model_spec& m) {
    m.train.loss.l1_reduction = l1_reduction::batch_sum;
    m.train.loss.l1_coeff = 2e-4;
    m.train.batch_size = 1024;
    m.train.adam.beta1 = 0.9;
    m.train.adam.beta2 = 0.99;
    m.train.adam.weight_decay = 1e-4;
    m.train.adam.weight_decay_mode = optim::weight_decay_mode::coupled;
    m.train.schedule.lr = 5e-5;
    m.train.schedule.warmup_steps = 0;
    m.train.schedule.lr_min_ratio = 0.01;
    m.config.decoder_norm = decoder_norm::unit;
}

/// One planted setting: what it changes from our recipe, and the experiment it runs at each seed.
struct planted_setting {
    std::string name;      ///< e.g. "λ = 0.3" or "post's recipe"
    std::string changes;   ///< what differs from our recipe, in words
    double l1_coeff = 0;   ///< the sweep's λ (λ settings only), else 0
    bool lambda_sweep = false;
    planted_distillation_settings experiment;  ///< models: relu, gelu (, sae)
};

struct planted_study_settings {
    /// Data, teacher, held-out tokens and analysis; its models are ignored (the study builds them).
    planted_distillation_settings base;
    model_spec student;    ///< our recipe: a ReLU student with L1
    model_spec sae;        ///< the SAE baseline, trained at the recipe's own λ only
    std::vector<double> l1_values = {0.03, 0.1, 0.3, 1.0};
    bool hypotheses = true;  ///< the settings beyond the λ sweep
};

/// The planted settings in the order they run: the λ sweep (our recipe's λ added if missing), then the
/// hypotheses. The setting at our recipe's λ is "ours" and also trains the SAE.
inline std::vector<planted_setting> planted_settings_of(const planted_study_settings& s) {
    std::vector<double> lambdas = s.l1_values;
    if (std::find(lambdas.begin(), lambdas.end(), s.student.train.loss.l1_coeff) == lambdas.end())
        lambdas.push_back(s.student.train.loss.l1_coeff);
    std::sort(lambdas.begin(), lambdas.end());
    const auto twins = [](model_spec relu) {
        relu.name = "relu";
        relu.sae = false;
        relu.config.act = activation::relu;
        model_spec gelu = relu;
        gelu.name = "gelu";
        gelu.config.act = activation::gelu;
        return std::vector<model_spec>{relu, gelu};
    };
    std::vector<planted_setting> out;
    for (double l1 : lambdas) {
        planted_setting p;
        p.name = "λ = " + nlohmann::json(l1).dump();
        p.changes = l1 == s.student.train.loss.l1_coeff ? "none (our recipe)" : "λ";
        p.l1_coeff = l1;
        p.lambda_sweep = true;
        p.experiment = s.base;
        model_spec student = s.student;
        student.train.loss.l1_coeff = l1;
        p.experiment.models = twins(student);
        if (l1 == s.student.train.loss.l1_coeff) {
            model_spec sae = s.sae;
            sae.name = "sae";
            p.experiment.models.push_back(sae);
        }
        out.push_back(std::move(p));
    }
    if (!s.hypotheses) return out;
    const auto hypothesis = [&](std::string name, std::string changes, auto&& change_student, auto&& change_experiment) {
        planted_setting p;
        p.name = std::move(name);
        p.changes = std::move(changes);
        p.experiment = s.base;
        model_spec student = s.student;
        change_student(student);
        p.experiment.models = twins(student);
        change_experiment(p.experiment);
        out.push_back(std::move(p));
    };
    const auto same = [](auto&) {};
    hypothesis("post's recipe", "the post's code: λ = 2e-4 summed over a batch of 1024, coupled L2 1e-4, betas (0.9, 0.99), "
               "lr 5e-5 cosine to 1%, decoder norm = 1", apply_post_recipe, same);
    hypothesis("post's recipe at our lr", "the post's recipe with our learning rate and schedule",
               [&](model_spec& m) {
                   apply_post_recipe(m);
                   m.train.schedule = s.student.train.schedule;
               },
               same);
    hypothesis("decoder norm = 1", "decoder rows held at norm exactly 1 (ours: capped at ≤ 1)",
               [](model_spec& m) { m.config.decoder_norm = decoder_norm::unit; }, same);
    hypothesis("ReLU teacher", "the teacher MLP's activation is ReLU (ours: GELU)", same,
               [](planted_distillation_settings& e) { e.teacher_act = activation::relu; });
    hypothesis("dense inputs", "about 2·d planted features active per token, so inputs are nearly Gaussian", same,
               [](planted_distillation_settings& e) {
                   e.data.probability = std::min(0.5, 2.0 * double(e.data.dim) / double(e.data.features));
               });
    hypothesis("wider teacher", "twice the teacher's neurons (8·d instead of 4·d), the student still 4× the teacher",
               [](model_spec& m) { m.config.d_sae *= 2; }, [](planted_distillation_settings& e) { e.d_mlp *= 2; });
    // The post's model has d = 1024; random directions' cosines shrink as 1/√d, and the post notes that its
    // single-neuron result depends on the input dimension.
    hypothesis("higher dimension", "every width doubled: d, the planted features, the teacher's neurons and the student's features",
               [](model_spec& m) { m.config.d_sae *= 2; },
               [](planted_distillation_settings& e) {
                   e.data.dim *= 2;
                   e.data.features *= 2;
                   e.d_mlp *= 2;
               });
    return out;
}

/// The language-model part: the model, its text windows and the settings of its runs.
struct lm_study_settings {
    lm_distillation_settings base;              ///< our recipe on every layer (a ReLU student with L1)
    std::vector<double> l1_values = {0.01, 0.03, 0.1, 0.3};  ///< the first seed's λ sweep (ReLU, GELU, SAE)
    std::vector<index_t> k_values = {8, 16, 32};  ///< the first seed's TopK sweep
};

/// One language-model setting: an architecture at one λ or k, and whether every seed runs it.
struct lm_setting {
    std::string name;  ///< e.g. "relu λ = 0.03", "topk k = 16"
    lm_distillation_settings experiment;
    bool every_seed = false;
};

inline std::vector<lm_setting> lm_settings_of(const lm_study_settings& s) {
    std::vector<lm_setting> out;
    const double ours = s.base.train.loss.l1_coeff;
    const auto l1_setting = [&](const std::string& arch, double l1, bool every_seed) {
        lm_setting p;
        p.name = arch + " λ = " + nlohmann::json(l1).dump();
        p.experiment = s.base;
        p.experiment.student.act = arch == "gelu" ? activation::gelu : activation::relu;
        p.experiment.sae = arch == "sae";
        p.experiment.train.loss.l1_coeff = l1;
        p.every_seed = every_seed;
        out.push_back(std::move(p));
    };
    l1_setting("relu", ours, true);
    l1_setting("gelu", ours, true);
    for (const char* arch : {"relu", "gelu", "sae"})
        for (double l1 : s.l1_values)
            if (!(l1 == ours && std::string(arch) != "sae")) l1_setting(arch, l1, false);
    for (index_t k : s.k_values) {
        lm_setting p;
        p.name = "topk k = " + std::to_string(k);
        p.experiment = s.base;
        p.experiment.student.act = activation::relu;
        p.experiment.student.sparsity = sparsity_mode::topk;
        p.experiment.student.k = k;
        p.experiment.train.loss.l1_coeff = 0;
        out.push_back(std::move(p));
    }
    return out;
}

/// The role of an lm setting's models: relu, gelu, sae or topk.
inline std::string lm_role(const lm_distillation_settings& e) {
    if (e.sae) return "sae";
    if (e.student.sparsity == sparsity_mode::topk) return "topk";
    return std::string(to_string(e.student.act));
}

struct study_settings {
    int seeds = 5;                    ///< seeds first_seed, first_seed + 1, …
    std::uint64_t first_seed = 0;
    planted_study_settings planted;
    bool single_neuron = true;
    single_neuron_settings neuron;    ///< its seed and constraint are the study's
    /// Finished runs are written here and read back when the study runs again (empty: no cache).
    std::filesystem::path cache;

    void validate() const {
        if (seeds < 1) throw std::invalid_argument("replication: seeds must be at least 1 (got " + std::to_string(seeds) + ")");
        for (double l1 : planted.l1_values)
            if (!(l1 >= 0 && std::isfinite(l1)))
                throw std::invalid_argument("replication: every λ must be non-negative and finite");
        if (neuron.steps < 1 || neuron.d < 2) throw std::invalid_argument("replication: the single-neuron toy needs d ≥ 2 and steps ≥ 1");
    }
};

/// One setting at one seed: the models it trained, measured (one per layer for language-model runs).
struct model_run {
    std::string setting;
    std::uint64_t seed = 0;
    std::vector<model_measurement> models;
};

struct neuron_run {
    std::string setting;  ///< the constraint: cap, unit or none
    std::uint64_t seed = 0;
    single_neuron_measurement measurement;
};

struct study_result {
    std::vector<planted_setting> planted_settings;  ///< in run order (their experiments as run at the first seed)
    std::vector<model_run> planted;
    std::vector<neuron_run> single_neuron;
    std::vector<lm_setting> lm_settings;
    std::vector<model_run> lm;
    std::vector<std::uint64_t> seeds;
    std::string lm_model;  ///< what the language-model runs distilled (empty: none)
    std::size_t runs_from_cache = 0;  ///< runs read back instead of trained (their time is not this call's)
};

namespace detail {
/// The cache: a run's file holds what identifies it (its settings as JSON) and its measurements. A file
/// whose identity differs from the run's is an error naming it, never silently reused.
class run_cache {
public:
    explicit run_cache(std::filesystem::path folder) : folder_(std::move(folder)) {
        if (!folder_.empty()) std::filesystem::create_directories(folder_);
    }
    /// The measurements stored for `key`, or nothing.
    std::optional<nlohmann::json> load(const std::string& key, const nlohmann::json& identity) const {
        if (folder_.empty()) return std::nullopt;
        const std::filesystem::path file = path_of(key);
        if (!std::filesystem::exists(file)) return std::nullopt;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(io::read_text_file(file));
        } catch (const nlohmann::json::exception& e) {
            throw io::io_error(file, "run", std::string("not a replication run: ") + e.what());
        }
        if (!j.contains("identity") || j["identity"] != identity)
            throw io::io_error(file, "identity",
                               "this run was made with other settings; remove the file (or the folder) to run it again with these");
        return j.at("result");
    }
    void store(const std::string& key, const nlohmann::json& identity, const nlohmann::json& result) const {
        if (folder_.empty()) return;
        io::write_text_file(path_of(key), nlohmann::json{{"identity", identity}, {"result", result}}.dump(1) + "\n");
    }

private:
    std::filesystem::path path_of(const std::string& key) const {
        // "planted λ = 0.3 seed 2" → planted_0.3_seed_2: letters, digits, '-' and '.' kept, every other run one '_'.
        std::string name;
        for (char c : key) {
            const bool kept = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
            if (kept) name += c;
            else if (!name.empty() && name.back() != '_') name += '_';
        }
        return folder_ / (name + ".json");
    }
    std::filesystem::path folder_;
};

inline nlohmann::json identity_of(const planted_distillation_settings& e) {
    nlohmann::json models = nlohmann::json::array();
    for (const model_spec& m : e.models)
        models.push_back({{"name", m.name}, {"sae", m.sae}, {"config", m.config}, {"train", m.train}});
    const auto& d = e.data;
    return {{"data", {d.dim, d.features, d.probability, d.magnitude_min, d.magnitude_max, d.noise_stddev}},
            {"teacher", {e.d_mlp, std::string(to_string(e.teacher_act)), e.teacher_bias_stddev, e.teacher_output_norm}},
            {"eval_tokens", e.eval_tokens},
            {"threshold", e.analysis.simulator_threshold},
            {"seed", e.seed},
            {"models", models}};
}

inline nlohmann::json identity_of(const lm_distillation_settings& e, const std::string& model) {
    return {{"model", model},       {"layers", e.layers},       {"window", e.window},
            {"held_out", e.held_out_fraction}, {"width", e.width_ratio}, {"student", e.student},
            {"train", e.train},     {"sae", e.sae},             {"analysis_tokens", e.analysis_tokens},
            {"threshold", e.analysis.simulator_threshold}, {"seed", e.seed}};
}

inline nlohmann::json identity_of(const single_neuron_settings& s) {
    return {{"d", s.d}, {"steps", s.steps}, {"lr", s.lr}, {"batch", s.batch}, {"seed", s.seed},
            {"constraint", std::string(to_string(s.constraint))}, {"init", std::string(to_string(s.init))},
            {"window", s.summary_window}};
}

template <class Scalar>
model_measurement measure_model(const trained_model<Scalar>& m) {
    const bool l1 = m.spec.config.sparsity == sparsity_mode::l1;
    return measure(m.spec.name, m.analysis, l1 ? m.spec.train.loss.l1_coeff : 0, m.spec.config.k);
}
}  // namespace detail

/// Runs the planted settings and the single-neuron toy at every seed. `make_callbacks(spec, steps)` gives
/// each model's training callbacks (as run_planted_distillation's); `progress(text)` says what runs next.
template <class Backend = backend::cpu, class MakeCallbacks, class Progress>
study_result run_planted_study(const study_settings& s, MakeCallbacks&& make_callbacks, Progress&& progress) {
    s.validate();
    const detail::run_cache cache(s.cache);
    study_result r;
    r.planted_settings = planted_settings_of(s.planted);
    for (int i = 0; i < s.seeds; ++i) r.seeds.push_back(s.first_seed + static_cast<std::uint64_t>(i));
    const std::size_t total = r.planted_settings.size() * r.seeds.size() + (s.single_neuron ? 3 * r.seeds.size() : 0);
    std::size_t done = 0;
    const auto announce = [&](const std::string& what) { progress("[" + std::to_string(++done) + "/" + std::to_string(total) + "] " + what); };
    for (const std::uint64_t seed : r.seeds)
        for (const planted_setting& setting : r.planted_settings) {
            planted_distillation_settings e = setting.experiment;
            e.seed = seed;
            const nlohmann::json identity = detail::identity_of(e);
            const std::string key = "planted " + setting.name + " seed " + std::to_string(seed);
            model_run run{setting.name, seed, {}};
            if (const auto cached = cache.load(key, identity)) {
                announce(key + " (from the cache)");
                run.models = cached->get<std::vector<model_measurement>>();
                ++r.runs_from_cache;
            } else {
                announce(key);
                const auto result = run_planted_distillation<float, Backend>(e, make_callbacks);
                for (const auto& m : result.models) run.models.push_back(detail::measure_model(m));
                cache.store(key, identity, run.models);
            }
            r.planted.push_back(std::move(run));
        }
    if (!s.single_neuron) return r;
    for (const std::uint64_t seed : r.seeds)
        for (const decoder_norm constraint : {decoder_norm::cap, decoder_norm::unit, decoder_norm::none}) {
            single_neuron_settings n = s.neuron;
            n.seed = seed;
            n.constraint = constraint;
            const std::string name(to_string(constraint));
            const std::string key = "single neuron " + name + " seed " + std::to_string(seed);
            const nlohmann::json identity = detail::identity_of(n);
            neuron_run run{name, seed, {}};
            if (const auto cached = cache.load(key, identity)) {
                announce(key + " (from the cache)");
                run.measurement = cached->get<single_neuron_measurement>();
                ++r.runs_from_cache;
            } else {
                announce(key);
                run.measurement = measure(name, run_single_neuron<float, Backend>(n), n.summary_window);
                cache.store(key, identity, run.measurement);
            }
            r.single_neuron.push_back(run);
        }
    return r;
}

/// Adds the language-model runs to `r`: the every-seed settings at each of r.seeds, the sweeps at the
/// first. `model_name` identifies the model in the cache (e.g. its file's name).
template <class Backend = backend::cpu, class Model, class MakeCallbacks, class Progress>
void run_lm_study(study_result& r, const Model& model, const std::string& model_name, const lm::text_windows& windows,
                  const lm_study_settings& s, const std::filesystem::path& cache_folder, MakeCallbacks&& make_callbacks,
                  Progress&& progress) {
    if (r.seeds.empty()) throw std::invalid_argument("run_lm_study: run the planted study first (it fixes the seeds)");
    const detail::run_cache cache(cache_folder);
    r.lm_settings = lm_settings_of(s);
    r.lm_model = model_name;
    std::size_t total = 0, done = 0;
    for (const lm_setting& setting : r.lm_settings) total += setting.every_seed ? r.seeds.size() : 1;
    for (const std::uint64_t seed : r.seeds)
        for (const lm_setting& setting : r.lm_settings) {
            if (!setting.every_seed && seed != r.seeds.front()) continue;
            lm_distillation_settings e = setting.experiment;
            e.seed = seed;
            e.example_features = 0;  // the study reads numbers, not contexts
            const std::string key = "lm " + setting.name + " seed " + std::to_string(seed);
            const nlohmann::json identity = detail::identity_of(e, model_name);
            model_run run{setting.name, seed, {}};
            const std::string step = "[lm " + std::to_string(++done) + "/" + std::to_string(total) + "] " + key;
            if (const auto cached = cache.load(key, identity)) {
                progress(step + " (from the cache)");
                run.models = cached->get<std::vector<model_measurement>>();
                ++r.runs_from_cache;
            } else {
                progress(step);
                const lm_distillation_result result =
                    run_lm_distillation<Backend>(model, windows, e, make_callbacks, [](const std::string&) {});
                for (const lm_layer_result& layer : result.layers) {
                    const bool l1 = e.student.sparsity == sparsity_mode::l1;
                    model_measurement m = measure(lm_role(e), layer.analysis, l1 ? e.train.loss.l1_coeff : 0, e.student.k);
                    m.layer = layer.layer;
                    m.loss_recovered_zero = layer.losses.recovered_vs_zero();
                    m.loss_recovered_mean = layer.losses.recovered_vs_mean();
                    run.models.push_back(m);
                }
                cache.store(key, identity, run.models);
            }
            r.lm.push_back(std::move(run));
        }
}

}  // namespace sparse_distill::experiments::replication
