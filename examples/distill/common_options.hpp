#pragma once
// What every `distill` subcommand shares: where the output goes and how the program runs
// (common_options), the student and its training (student_options), the backend it trains on, and the
// exit status 2 for impossible settings. Each subcommand's own options live in its own file.
#include <sparse_distill.hpp>
#include <sparse_distill/experiments/planted_distillation.hpp>
#if SD_HAS_CUDA
#include <sparse_distill/backend/cuda.hpp>
#endif

#if SD_DISTILL_CPU_BF16
#include <sparse_distill/backend/cpu_bf16.hpp>
#include <sparse_distill/backend/cpu_onednn.hpp>
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
/// A check that a number lies in an interval, whose message reads as a person writes the interval
/// ("must lie in [0, 1)", bounds with %g; CLI11's own Range prints "0.000000 to 0.999999", and a
/// 309-digit maximum for a one-sided bound). `interval` is that text; the bounds are checked as given.
inline CLI::Validator number_in(double low, bool low_open, double high, bool high_open, const std::string& interval) {
    return CLI::Validator(
        [=](std::string& input) -> std::string {
            double value = 0;
            if (!CLI::detail::lexical_cast(input, value)) return "'" + input + "' is not a number";
            const bool above = low_open ? value > low : value >= low;
            const bool below = high_open ? value < high : value <= high;
            return above && below ? std::string() : "must lie in " + interval + " (got " + input + ")";
        },
        interval);
}
/// x > 0, and x ≥ 0.
inline const CLI::Validator positive_number = number_in(0, true, HUGE_VAL, false, "(0, ∞)");
inline const CLI::Validator non_negative_number = number_in(0, false, HUGE_VAL, false, "[0, ∞)");
/// [0, 1] and [0, 1).
inline const CLI::Validator unit_interval = number_in(0, false, 1, false, "[0, 1]");
inline const CLI::Validator below_one = number_in(0, false, 1, true, "[0, 1)");

inline const std::vector<std::string> backend_names = {"cpu", "cpu_onednn", "cpu_bf16", "cuda", "cuda_tf32", "cuda_bf16"};

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
        ->check(non_negative_number);
    app.add_option("--threads", o.threads, "OpenMP threads (0: all cores)")->check(CLI::Range(0, 1024));
    app.add_option("--log-every", o.log_every, "report progress and log metrics every N steps")->check(positive_number);
    app.add_flag("-q,--quiet", o.quiet, "no progress output (the summary table is still printed)");
    app.add_option("--backend", o.backend,
                   "where students train: cpu; cpu_onednn (fp32 products through oneDNN); cpu_bf16 (bf16 products "
                   "through oneDNN, CPUs with AVX512-BF16); or cuda "
                   "(fp32), cuda_tf32, cuda_bf16 in a build with -DSD_ENABLE_CUDA=ON")
        ->check(CLI::IsMember(backend_names));
    app.add_option_group("Analysis")
        ->add_option("--threshold", o.threshold, "max decoder cosine above which a feature is a neuron simulator")
        ->check(below_one);
}

/// Throws bad_settings when this build cannot train on the backend `name` (checked before any output).
inline void check_backend_built(const std::string& name) {
    if (name == "cpu") return;
    if (name == "cpu_onednn") {
#if !SD_DISTILL_CPU_BF16
        throw bad_settings("--backend cpu_onednn: this distill was built without oneDNN; install libdnnl-dev and configure again");
#endif
        return;
    }
    if (name == "cpu_bf16") {
#if SD_DISTILL_CPU_BF16
        if (!sd::backend::cpu_bf16_available())
            throw bad_settings("--backend cpu_bf16: this CPU runs oneDNN at " +
                               sd::backend::onednn_system::effective_isa_name(dnnl::get_effective_cpu_isa()) +
                               ", without AVX512-BF16, where bf16 products would be slower than fp32: use --backend cpu");
        return;
#else
        throw bad_settings("--backend cpu_bf16: this distill was built without oneDNN; install libdnnl-dev and configure again");
#endif
    }
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
#if SD_DISTILL_CPU_BF16
    if (name == "cpu_bf16") return f.template operator()<sd::backend::cpu_bf16>();
    if (name == "cpu_onednn") return f.template operator()<sd::backend::cpu_onednn>();
#endif
    return f.template operator()<sd::backend::cpu>();
}

/// The student and its training, shared by every subcommand (the SAE baseline overrides λ and init).
struct student_options {
    sd::index_t d_sae = 1024;
    std::string arch;  ///< relu, gelu, topk, batchtopk or jumprelu (student_architectures); empty: --act decides
    std::string act = "relu";
    sd::index_t k = 0;
    bool skip = false;
    double skip_init_scale = 0;
    double threshold_init = 0.01, threshold_init_logstd = 0, threshold_rate = 0.01;
    double l0_coeff = 0, bandwidth = 0.05;
    double auxk_alpha = 0;
    sd::index_t auxk_k = 0;
    bool auxk_to_encoder = false;
    std::int64_t dead_tokens = 10'000'000;
    std::int64_t total_steps = 0;  ///< 0: the run's step count
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
    bool lazy_adam = false;
};

/// The student architectures of --arch: each name sets the activation and the sparsity mode.
struct student_architecture {
    const char* name;
    sd::activation act;
    sd::sparsity_mode sparsity;
};
inline constexpr student_architecture student_architectures[] = {
    {"relu", sd::activation::relu, sd::sparsity_mode::l1},
    {"gelu", sd::activation::gelu, sd::sparsity_mode::l1},
    {"topk", sd::activation::relu, sd::sparsity_mode::topk},
    {"batchtopk", sd::activation::relu, sd::sparsity_mode::batchtopk},
    {"jumprelu", sd::activation::relu, sd::sparsity_mode::jumprelu},
};

inline std::vector<std::string> student_architecture_names() {
    std::vector<std::string> names;
    for (const auto& a : student_architectures) names.emplace_back(a.name);
    return names;
}

inline void add_student_options(CLI::App& app, student_options& s) {
    auto* student = app.add_option_group("Student", "the distilled MLP (loss = MSE + λ·L1 of its activations, or a TopK, "
                                                    "BatchTopK or JumpReLU student)");
    student->add_option("--d-sae", s.d_sae, "student features (hidden width), also the SAE's")->check(positive_number);
    student->add_option("--arch", s.arch,
                        "architecture: relu or gelu (+ L1, the post's), topk (k per token), batchtopk (k·batch per batch, "
                        "then a JumpReLU at τ), jumprelu (trained thresholds, L0 penalty); default: --act with L1")
        ->check(CLI::IsMember(student_architecture_names()));
    student->add_option("--k", s.k, "topk / batchtopk: latents kept per token")->check(positive_number);
    student->add_flag("--skip", s.skip, "a linear skip connection ŷ += x·W_skip (a skip transcoder)");
    student->add_option("--skip-init-scale", s.skip_init_scale, "W_skip starts at this × N(0, 1/d_in) (0: zero)")
        ->check(non_negative_number);
    student->add_option("--threshold-init", s.threshold_init, "jumprelu: initial threshold θ")->check(positive_number);
    student->add_option("--threshold-init-logstd", s.threshold_init_logstd, "jumprelu: log θ starts at ln(threshold-init) + this × N(0, 1)")
        ->check(non_negative_number);
    student->add_option("--threshold-rate", s.threshold_rate, "batchtopk: the inference threshold's moving-average rate")
        ->check(number_in(0, true, 1, false, "(0, 1]"));
    student->add_option("--act", s.act, "student activation (a GELU twin is trained too unless --no-gelu-student)")
        ->check(CLI::IsMember(sd::activation_names.names()));
    student->add_flag("--no-biases", s.no_biases, "no b_enc and b_dec");
    student->add_option("--pre-bias", s.pre_bias, "x − b before the encoder: none, b learned, or b = b_dec (tied_decoder)")
        ->check(CLI::IsMember(sd::pre_bias_names.names()));
    student->add_option("--init", s.init, "initialisation")->check(CLI::IsMember(sd::student_init_names.names()));
    student->add_option("--decoder-norm", s.decoder_norm, "decoder rows: cap (‖·‖ ≤ 1), unit (= 1) or none")
        ->check(CLI::IsMember(sd::decoder_norm_names.names()));
    student->add_option("--tied-init-norm", s.tied_init_norm, "decoder row norm of tied_transpose init")->check(positive_number);

    auto* train = app.add_option_group("Training", "Adam(W) with warmup and cosine decay, full batches");
    train->add_option("--tokens", s.tokens, "tokens per model")->check(positive_number);
    train->add_option("--batch", s.batch, "tokens per step")->check(positive_number);
    train->add_option("--l1", s.l1, "λ, the L1 coefficient (relu and gelu students)")->check(non_negative_number);
    train->add_option("--l0-coeff", s.l0_coeff, "jumprelu: the L0 penalty's coefficient")->check(non_negative_number);
    train->add_option("--bandwidth", s.bandwidth, "jumprelu: ε, the straight-through kernel's width")->check(positive_number);
    train->add_option("--auxk-alpha", s.auxk_alpha, "topk / batchtopk: AuxK's coefficient (0: off; sparsify uses 1/32)")
        ->check(non_negative_number);
    train->add_option("--auxk-k", s.auxk_k, "AuxK's k_aux before the cap by the dead count (0: d_out / 2)")->check(non_negative_number);
    train->add_flag("--auxk-to-encoder", s.auxk_to_encoder, "AuxK also trains the encoder (the OpenAI paper; sparsify does not)");
    train->add_option("--dead-tokens", s.dead_tokens, "a latent is dead after this many tokens without firing")
        ->check(positive_number);
    train->add_option("--total-steps", s.total_steps, "length of the learning-rate schedule (0: the run's steps)")
        ->check(non_negative_number);
    train->add_option("--l1-reduction", s.l1_reduction, "batch_mean (λ·mean_b Σ_h a) or batch_sum (λ·Σ_b Σ_h a)")
        ->check(CLI::IsMember(sd::l1_reduction_names.names()));
    train->add_option("--lr", s.lr, "peak learning rate")->check(non_negative_number);
    train->add_option("--warmup", s.warmup, "linear warmup steps")->check(non_negative_number);
    train->add_option("--lr-min-ratio", s.lr_min_ratio, "final rate / peak rate of the cosine decay")->check(unit_interval);
    train->add_option("--beta1", s.beta1, "Adam β1")->check(below_one);
    train->add_option("--beta2", s.beta2, "Adam β2")->check(below_one);
    train->add_option("--eps", s.eps, "Adam ε")->check(positive_number);
    train->add_option("--weight-decay", s.weight_decay, "weight decay")->check(non_negative_number);
    train->add_option("--weight-decay-mode", s.weight_decay_mode, "decoupled (AdamW) or coupled (L2 in the gradient)")
        ->check(CLI::IsMember(sd::optim::weight_decay_mode_names.names()));
    train->add_flag("--lazy-adam", s.lazy_adam,
                    "leave features that fired on no token of a batch as they are (SparseAdam's rule; default: exact AdamW)");
}

/// The student the options describe, named "<act>_student", reporting every `log_every` steps.
inline sd::experiments::model_spec student_spec(const student_options& m, std::int64_t log_every) {
    sd::experiments::model_spec student;
    student.config.d_sae = m.d_sae;
    student.config.act = sd::parse_activation(m.act);
    for (const auto& a : student_architectures)
        if (m.arch == a.name) {
            student.config.act = a.act;
            student.config.sparsity = a.sparsity;
        }
    const bool l1_mode = student.config.sparsity == sd::sparsity_mode::l1;
    student.config.k = sd::keeps_k_latents(student.config.sparsity) ? m.k : 0;
    student.config.skip = m.skip;
    student.config.skip_init_scale = m.skip_init_scale;
    student.config.threshold_init = m.threshold_init;
    student.config.threshold_init_logstd = m.threshold_init_logstd;
    student.config.threshold_rate = m.threshold_rate;
    student.train.loss.l0_coeff = m.l0_coeff;
    student.train.loss.bandwidth = m.bandwidth;
    student.train.loss.auxk = {m.auxk_alpha, m.auxk_k, m.auxk_to_encoder};
    student.train.dead_tokens = m.dead_tokens;
    student.train.schedule.total_steps = m.total_steps;
    student.config.biases = !m.no_biases;
    student.config.pre_bias = sd::parse_pre_bias(m.pre_bias);
    student.config.init = sd::parse_student_init(m.init);
    student.config.decoder_norm = sd::parse_decoder_norm(m.decoder_norm);
    student.config.tied_init_norm = m.tied_init_norm;
    student.train.batch_size = m.batch;
    student.train.tokens = m.tokens;
    // A TopK, BatchTopK or JumpReLU student has no L1 term (check_student_options refuses an explicit --l1).
    student.train.loss.l1_coeff = l1_mode ? m.l1 : 0;
    student.train.loss.l1_reduction = sd::parse_l1_reduction(m.l1_reduction);
    student.train.schedule.lr = m.lr;
    student.train.schedule.warmup_steps = m.warmup;
    student.train.schedule.lr_min_ratio = m.lr_min_ratio;
    student.train.adam.beta1 = m.beta1;
    student.train.adam.beta2 = m.beta2;
    student.train.adam.eps = m.eps;
    student.train.adam.weight_decay = m.weight_decay;
    student.train.adam.weight_decay_mode = sd::optim::parse_weight_decay_mode(m.weight_decay_mode);
    student.train.adam.lazy_silent_features = m.lazy_adam;
    student.train.callback_every = log_every;
    student.name = (m.arch.empty() ? std::string(sd::to_string(student.config.act)) : m.arch) + "_student";
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
    std::vector<std::string> arguments;  ///< the command line after the program's name, as given

    bool given(const std::string& option) const { return app->count(option) > 0; }
};

/// Architecture options that do not fit --arch (exit status 2), before any work.
/// `k_from_sweep`: a sweep gives k itself (--k-values).
inline void check_student_options(const shared_options& shared, bool k_from_sweep = false, bool say_notes = true,
                                  bool length_from_steps = false) {
    const student_options& s = shared.student;
    const std::string arch = s.arch.empty() ? s.act : s.arch;
    const bool keeps_k = arch == "topk" || arch == "batchtopk";
    const auto refuse = [&](const std::string& option, const std::string& why) {
        throw bad_settings(option + " " + why + " (--arch " + arch + ")");
    };
    if (!s.arch.empty() && shared.given("--act") && s.act != (s.arch == "gelu" ? "gelu" : "relu"))
        refuse("--act " + s.act, "conflicts with --arch: topk, batchtopk and jumprelu select relu(pre), relu and gelu name their activation");
    if (keeps_k && !shared.given("--k") && !k_from_sweep) refuse("--k", "is needed: how many latents each token keeps");
    if (!keeps_k && shared.given("--k")) refuse("--k", "applies to --arch topk and batchtopk");
    if (keeps_k && s.k > s.d_sae && shared.given("--d-sae"))
        refuse("--k " + std::to_string(s.k), "exceeds --d-sae " + std::to_string(s.d_sae));
    if (shared.given("--l1") && (keeps_k || arch == "jumprelu"))
        refuse("--l1", "applies to relu and gelu students; " + std::string(keeps_k ? "--k sets the sparsity" : "use --l0-coeff"));
    if (shared.given("--l0-coeff") && arch != "jumprelu") refuse("--l0-coeff", "applies to --arch jumprelu");
    for (const char* option : {"--bandwidth", "--threshold-init", "--threshold-init-logstd"})
        if (shared.given(option) && arch != "jumprelu") refuse(option, "applies to --arch jumprelu");
    if (shared.given("--threshold-rate") && arch != "batchtopk") refuse("--threshold-rate", "applies to --arch batchtopk");
    for (const char* option : {"--auxk-alpha", "--auxk-k", "--auxk-to-encoder"})
        if (shared.given(option) && !keeps_k) refuse(option, "applies to --arch topk and batchtopk (AuxK revives dead TopK latents)");
    if (shared.given("--skip-init-scale") && !s.skip) refuse("--skip-init-scale", "needs --skip");

    // Settings that run but may not do what the user meant: said on stderr, not refused.
    if (!say_notes) return;  // other ranks than 0 of an mpirun launch: rank 0 says them
    if (!length_from_steps && s.batch > 0 && s.tokens % s.batch != 0 && s.tokens >= s.batch)
        std::fprintf(stderr, "distill: note: --tokens %lld is not a multiple of --batch %lld: each model trains %lld full batches = %lld tokens\n",
                     static_cast<long long>(s.tokens), static_cast<long long>(s.batch), static_cast<long long>(s.tokens / s.batch),
                     static_cast<long long>(s.tokens / s.batch * s.batch));
    // Adam's convergence analysis (Kingma & Ba, 2015) needs β1² < β2; outside it the update m/√v is unbounded.
    if (s.beta1 * s.beta1 >= s.beta2)
        std::fprintf(stderr,
                     "distill: warning: --beta1 %g with --beta2 %g lies outside Adam's stable range β1² < β2: updates can grow "
                     "without bound (a run stops when its loss grows ten-thousandfold)\n",
                     s.beta1, s.beta2);
}

/// Refuses (exit 2), before anything is allocated, a student whose training would not fit in this
/// machine's memory, saying how much it would need and why.
inline void check_memory_for(const sd::student_config& config, sd::index_t batch, std::size_t scalar_bytes) {
    const double needed = sd::training_memory_bytes(config, batch, scalar_bytes), available = sd::physical_memory_bytes();
    if (available > 0 && needed > available) {
        char text[320];
        std::snprintf(text, sizeof text,
                      "training a %lld → %lld → %lld student on batches of %lld needs about %.3g GiB (weights, gradients and "
                      "Adam moments, and the batch's activations), more than this machine's %.3g GiB: lower --d-sae or --batch",
                      static_cast<long long>(config.d_in), static_cast<long long>(config.d_sae), static_cast<long long>(config.d_out),
                      static_cast<long long>(batch), needed / double(1 << 30), available / double(1 << 30));
        throw bad_settings(text);
    }
}

}  // namespace distill
