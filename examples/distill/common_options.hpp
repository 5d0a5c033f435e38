#pragma once
// What every `distill` subcommand shares: where the output goes and how the program runs
// (common_options), the student and its training (student_options), the backend it trains on, and the
// exit status 2 for impossible settings. Each subcommand's own options live in its own file.
#include <sparse_distill.hpp>
#include <sparse_distill/experiments/planted_distillation.hpp>
#if SD_HAS_CUDA
#include <sparse_distill/backend/cuda.hpp>
#endif

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace distill {

namespace sd = sparse_distill;

/// Impossible settings (exit status 2). They are checked before anything is written, so a bad option
/// leaves no half-made output folder.
struct bad_settings : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The backends `--backend` names, CUDA ones included whether or not this build has them (a build
/// without CUDA refuses those with a message naming the build option).
inline const std::vector<std::string> backend_names = {"cpu", "cuda", "cuda_tf32", "cuda_bf16"};

struct common_options {
    std::string out = "distill_out";
    std::uint64_t seed = 0;
    int threads = 0;
    std::int64_t log_every = 50;
    bool quiet = false;
    std::string backend = "cpu";
    double threshold = 0.8;  ///< the analysis's neuron-simulator threshold
};

inline void add_common_options(CLI::App& app, common_options& o) {
    app.add_option("-o,--out", o.out, "output folder: report.html, metrics.json, features_<model>.csv, metrics.jsonl");
    app.add_option("--seed", o.seed, "seed of data, teacher and initialisations (runs are reproducible)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--threads", o.threads, "OpenMP threads (0: all cores)")->check(CLI::Range(0, 1024));
    app.add_option("--log-every", o.log_every, "report progress and log metrics every N steps")->check(CLI::PositiveNumber);
    app.add_flag("-q,--quiet", o.quiet, "no progress output (the summary table is still printed)");
    app.add_option("--backend", o.backend,
                   "where students train: cpu, or cuda (fp32), cuda_tf32, cuda_bf16 in a build with -DSD_ENABLE_CUDA=ON")
        ->check(CLI::IsMember(backend_names));
    app.add_option_group("Analysis")
        ->add_option("--threshold", o.threshold, "max decoder cosine above which a feature is a neuron simulator")
        ->check(CLI::Range(0.0, 0.999999));
}

/// Throws bad_settings when this build cannot train on the backend `name` (checked before any output).
inline void check_backend_built(const std::string& name) {
    if (name == "cpu") return;
#if !SD_HAS_CUDA
    throw bad_settings("--backend " + name +
                       ": this distill was built without CUDA; configure with -DSD_ENABLE_CUDA=ON (needs nvcc and the CUDA "
                       "toolkit) to train on the GPU");
#endif
}

/// Calls `f.template operator()<Backend>()` for the backend `name` (one of backend_names).
template <class F>
decltype(auto) with_backend(const std::string& name, F&& f) {
    check_backend_built(name);
#if SD_HAS_CUDA
    if (name == "cuda") return f.template operator()<sd::backend::cuda>();
    if (name == "cuda_tf32") return f.template operator()<sd::backend::cuda_tf32>();
    if (name == "cuda_bf16") return f.template operator()<sd::backend::cuda_bf16>();
#endif
    return f.template operator()<sd::backend::cpu>();
}

/// The student and its training, shared by every subcommand (the SAE baseline overrides λ and init).
struct student_options {
    sd::index_t d_sae = 1024;
    std::string act = "relu";
    bool no_biases = false;
    std::string pre_bias = "none";
    std::string init = "kaiming_uniform";
    std::string decoder_norm = "cap";
    double tied_init_norm = 0.1;
    std::int64_t tokens = 1'000'000;
    sd::index_t batch = 256;
    double l1 = 0.3;
    std::string l1_reduction = "batch_mean";
    double lr = 1e-2;
    std::int64_t warmup = 100;
    double lr_min_ratio = 0.1;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
    std::string weight_decay_mode = "decoupled";
};

inline void add_student_options(CLI::App& app, student_options& s) {
    auto* student = app.add_option_group("Student", "the distilled MLP (loss = MSE + λ·L1 of its activations)");
    student->add_option("--d-sae", s.d_sae, "student features (hidden width), also the SAE's")->check(CLI::PositiveNumber);
    student->add_option("--act", s.act, "student activation (a GELU twin is trained too unless --no-gelu-student)")
        ->check(CLI::IsMember(sd::activation_names.names()));
    student->add_flag("--no-biases", s.no_biases, "no b_enc and b_dec");
    student->add_option("--pre-bias", s.pre_bias, "x − b before the encoder: none, b learned, or b = b_dec (tied_decoder)")
        ->check(CLI::IsMember(sd::pre_bias_names.names()));
    student->add_option("--init", s.init, "initialisation")->check(CLI::IsMember(sd::student_init_names.names()));
    student->add_option("--decoder-norm", s.decoder_norm, "decoder rows: cap (‖·‖ ≤ 1), unit (= 1) or none")
        ->check(CLI::IsMember(sd::decoder_norm_names.names()));
    student->add_option("--tied-init-norm", s.tied_init_norm, "decoder row norm of tied_transpose init")->check(CLI::PositiveNumber);

    auto* train = app.add_option_group("Training", "Adam(W) with warmup and cosine decay, full batches");
    train->add_option("--tokens", s.tokens, "tokens per model")->check(CLI::PositiveNumber);
    train->add_option("--batch", s.batch, "tokens per step")->check(CLI::PositiveNumber);
    train->add_option("--l1", s.l1, "λ, the L1 coefficient")->check(CLI::NonNegativeNumber);
    train->add_option("--l1-reduction", s.l1_reduction, "batch_mean (λ·mean_b Σ_h a) or batch_sum (λ·Σ_b Σ_h a)")
        ->check(CLI::IsMember(sd::l1_reduction_names.names()));
    train->add_option("--lr", s.lr, "peak learning rate")->check(CLI::NonNegativeNumber);
    train->add_option("--warmup", s.warmup, "linear warmup steps")->check(CLI::NonNegativeNumber);
    train->add_option("--lr-min-ratio", s.lr_min_ratio, "final rate / peak rate of the cosine decay")->check(CLI::Range(0.0, 1.0));
    train->add_option("--beta1", s.beta1, "Adam β1")->check(CLI::Range(0.0, 0.999999));
    train->add_option("--beta2", s.beta2, "Adam β2")->check(CLI::Range(0.0, 0.999999999));
    train->add_option("--eps", s.eps, "Adam ε")->check(CLI::PositiveNumber);
    train->add_option("--weight-decay", s.weight_decay, "weight decay")->check(CLI::NonNegativeNumber);
    train->add_option("--weight-decay-mode", s.weight_decay_mode, "decoupled (AdamW) or coupled (L2 in the gradient)")
        ->check(CLI::IsMember(sd::optim::weight_decay_mode_names.names()));
}

/// The student the options describe, named "<act>_student", reporting every `log_every` steps.
inline sd::experiments::model_spec student_spec(const student_options& m, std::int64_t log_every) {
    sd::experiments::model_spec student;
    student.config.d_sae = m.d_sae;
    student.config.act = sd::parse_activation(m.act);
    student.config.biases = !m.no_biases;
    student.config.pre_bias = sd::parse_pre_bias(m.pre_bias);
    student.config.init = sd::parse_student_init(m.init);
    student.config.decoder_norm = sd::parse_decoder_norm(m.decoder_norm);
    student.config.tied_init_norm = m.tied_init_norm;
    student.train.batch_size = m.batch;
    student.train.tokens = m.tokens;
    student.train.loss.l1_coeff = m.l1;
    student.train.loss.l1_reduction = sd::parse_l1_reduction(m.l1_reduction);
    student.train.schedule.lr = m.lr;
    student.train.schedule.warmup_steps = m.warmup;
    student.train.schedule.lr_min_ratio = m.lr_min_ratio;
    student.train.adam.beta1 = m.beta1;
    student.train.adam.beta2 = m.beta2;
    student.train.adam.eps = m.eps;
    student.train.adam.weight_decay = m.weight_decay;
    student.train.adam.weight_decay_mode = sd::optim::parse_weight_decay_mode(m.weight_decay_mode);
    student.train.callback_every = log_every;
    student.name = std::string(sd::to_string(student.config.act)) + "_student";
    return student;
}

namespace detail {
/// A number as text for names and report cells; "–" for NaN or infinity.
inline std::string fmt(double v, const char* format = "%.4g") {
    if (!std::isfinite(v)) return "–";
    char buf[48];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}
}  // namespace detail

/// Everything registered on the main command, which every subcommand reads (CLI11 lets these options
/// come before or after the subcommand's name), and the parsed command line, to ask what was given.
struct shared_options {
    common_options common;
    student_options student;
    const CLI::App* app = nullptr;

    bool given(const std::string& option) const { return app->count(option) > 0; }
};

}  // namespace distill
