#pragma once
// The `distill` program's options: every setting of the experiment as a flag, with defaults that
// finish in well under two minutes on two cores and reproduce the post's qualitative findings on
// planted data.
#include <sparse_distill.hpp>
#include <sparse_distill/experiments/planted_distillation.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace distill {

namespace sd = sparse_distill;

/// The training options shared by every model (the SAE overrides λ and init).
struct model_options {
    sd::index_t d_sae = 1024;
    std::string act = "relu";
    bool no_biases = false;
    std::string input_bias = "none";
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
    std::string decay_mode = "decoupled";
};

struct options {
    std::string mode = "run";   ///< "run" or "sweep"
    std::string out = "distill_out";
    std::uint64_t seed = 0;
    int threads = 0;
    std::int64_t log_every = 50;
    bool quiet = false;
    bool d_sae_given = false;  ///< --d-sae was on the command line (lm mode otherwise uses the width ratio)

    sd::data::planted_feature_settings data{64, 512, 0.008, 0.5, 1.5, 0.02};
    sd::index_t d_mlp = 256;
    std::string teacher_act = "gelu";
    double teacher_bias_std = 0.5;
    double teacher_output_norm = 0.5;

    model_options student;
    bool no_gelu_student = false;
    bool no_sae = false;
    double sae_l1 = 0.1;
    std::string sae_init = "tied_transpose";

    sd::index_t eval_tokens = 16384;
    double threshold = 0.8;
    std::vector<double> sweep_l1 = {0.03, 0.1, 0.3, 1.0};

    /// `distill lm`: a real llama2.c model instead of planted data.
    struct lm_options {
        std::string checkpoint, tokenizer, text;
        std::vector<std::string> layers = {"all"};
        int window = 128;
        double held_out = 0.1;
        double width_ratio = 4.0;
        std::string harvest_dir;
        sparse_distill::index_t example_features = 16, examples_per_feature = 5;
    } lm;

    /// `distill train`: a teacher and activations from files, the student saved for Python tools.
    struct train_options {
        std::string teacher, teacher_format = "auto";
        bool teacher_act_given = false;  ///< --teacher-act was on the command line
        int layer = 0;
        std::vector<std::string> inputs, targets;
        sd::index_t shuffle_buffer = 0;  ///< 0: rows in file order
        std::string init_student;
        std::int64_t steps = 0;  ///< 0: --tokens decides
        std::string save, save_format = "saelens";
        std::string dtype = "float";
        std::string checkpoint_dir;        ///< empty: no checkpoints
        std::int64_t checkpoint_every = 0;  ///< 0: only at the end and on SIGINT/SIGTERM
        bool resume = false;
    } train;
};

/// The subcommands, to tell which one was given.
struct subcommands {
    CLI::App* sweep = nullptr;
    CLI::App* lm = nullptr;
    CLI::App* train = nullptr;
};

/// Registers every option on `app` (and the `sweep` subcommand) writing into `o`.
inline void add_options(CLI::App& app, options& o, subcommands& sub) {
    app.option_defaults()->always_capture_default();
    app.add_option("-o,--out", o.out, "output folder: report.html, metrics.json, features_<model>.csv, metrics.jsonl");
    app.add_option("--seed", o.seed, "seed of data, teacher and initialisations (runs are reproducible)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--threads", o.threads, "OpenMP threads (0: all cores)")->check(CLI::Range(0, 1024));
    app.add_option("--log-every", o.log_every, "report progress and log metrics every N steps")->check(CLI::PositiveNumber);
    app.add_flag("-q,--quiet", o.quiet, "no progress output (the summary table is still printed)");

    auto* data = app.add_option_group("Planted data", "inputs x = Σ m_i·f_i + σ·ε with F unit directions f_i in R^d");
    data->add_option("--dim", o.data.dim, "d, the input (and output) dimension")->check(CLI::PositiveNumber);
    data->add_option("--features", o.data.features, "F, planted directions (F > d: superposition)")->check(CLI::PositiveNumber);
    data->add_option("--probability", o.data.probability, "chance that a feature is active on a token")->check(CLI::Range(0.0, 1.0));
    data->add_option("--magnitude-min", o.data.magnitude_min, "an active feature's magnitude ~ U[min, max]")->check(CLI::NonNegativeNumber);
    data->add_option("--magnitude-max", o.data.magnitude_max, "upper end of the magnitude range")->check(CLI::NonNegativeNumber);
    data->add_option("--noise", o.data.noise_stddev, "σ of the isotropic noise per coordinate")->check(CLI::NonNegativeNumber);

    auto* teacher = app.add_option_group("Teacher", "a random MLP, W_in scaled so pre-activations have unit variance");
    teacher->add_option("--d-mlp", o.d_mlp, "teacher neurons")->check(CLI::PositiveNumber);
    teacher->add_option("--teacher-act", o.teacher_act, "teacher activation")->check(CLI::IsMember({"gelu", "gelu_tanh", "relu"}));
    teacher->add_option("--teacher-bias-std", o.teacher_bias_std, "b_in ~ N(0, σ²)")->check(CLI::NonNegativeNumber);
    teacher->add_option("--teacher-output-norm", o.teacher_output_norm, "typical norm of a neuron's output vector")
        ->check(CLI::PositiveNumber);

    auto* student = app.add_option_group("Student", "the distilled MLP (loss = MSE + λ·L1 of its activations)");
    model_options& s = o.student;
    student->add_option("--d-sae", s.d_sae, "student features (hidden width), also the SAE's")->check(CLI::PositiveNumber);
    student->add_option("--act", s.act, "student activation (a GELU twin is trained too unless --no-gelu-student)")
        ->check(CLI::IsMember({"relu", "gelu", "gelu_tanh"}));
    student->add_flag("--no-biases", s.no_biases, "no b_enc and b_dec");
    student->add_option("--input-bias", s.input_bias, "x − b before the encoder: none, learned, tied_decoder")
        ->check(CLI::IsMember({"none", "learned", "tied_decoder"}));
    student->add_option("--init", s.init, "initialisation")->check(CLI::IsMember({"kaiming_uniform", "tied_transpose", "linear_default"}));
    student->add_option("--decoder-norm", s.decoder_norm, "decoder rows: cap (‖·‖ ≤ 1), unit (= 1) or none")
        ->check(CLI::IsMember({"cap", "unit", "none"}));
    student->add_option("--tied-init-norm", s.tied_init_norm, "decoder row norm of tied_transpose init")->check(CLI::PositiveNumber);
    student->add_flag("--no-gelu-student", o.no_gelu_student, "do not train the GELU twin (Appendix B)");

    auto* train = app.add_option_group("Training", "Adam(W) with warmup and cosine decay, full batches");
    train->add_option("--tokens", s.tokens, "tokens per model")->check(CLI::PositiveNumber);
    train->add_option("--batch", s.batch, "tokens per step")->check(CLI::PositiveNumber);
    train->add_option("--l1", s.l1, "λ, the L1 coefficient")->check(CLI::NonNegativeNumber);
    train->add_option("--l1-reduction", s.l1_reduction, "batch_mean (λ·mean_b Σ_h a) or batch_sum (λ·Σ_b Σ_h a)")
        ->check(CLI::IsMember({"batch_mean", "batch_sum"}));
    train->add_option("--lr", s.lr, "peak learning rate")->check(CLI::NonNegativeNumber);
    train->add_option("--warmup", s.warmup, "linear warmup steps")->check(CLI::NonNegativeNumber);
    train->add_option("--lr-min-ratio", s.lr_min_ratio, "final rate / peak rate of the cosine decay")->check(CLI::Range(0.0, 1.0));
    train->add_option("--beta1", s.beta1, "Adam β1")->check(CLI::Range(0.0, 0.999999));
    train->add_option("--beta2", s.beta2, "Adam β2")->check(CLI::Range(0.0, 0.999999999));
    train->add_option("--eps", s.eps, "Adam ε")->check(CLI::PositiveNumber);
    train->add_option("--weight-decay", s.weight_decay, "weight decay")->check(CLI::NonNegativeNumber);
    train->add_option("--decay-mode", s.decay_mode, "decoupled (AdamW) or coupled (L2 in the gradient)")
        ->check(CLI::IsMember({"decoupled", "coupled"}));

    auto* sae = app.add_option_group("SAE baseline", "an SAE on the teacher's output, trained like the student");
    sae->add_flag("--no-sae", o.no_sae, "do not train the SAE baseline");
    sae->add_option("--sae-l1", o.sae_l1, "the SAE's λ")->check(CLI::NonNegativeNumber);
    sae->add_option("--sae-init", o.sae_init, "the SAE's initialisation")
        ->check(CLI::IsMember({"kaiming_uniform", "tied_transpose", "linear_default"}));

    auto* an = app.add_option_group("Analysis");
    an->add_option("--eval-tokens", o.eval_tokens, "held-out tokens for every analysis")->check(CLI::PositiveNumber);
    an->add_option("--threshold", o.threshold, "max decoder cosine above which a feature is a neuron simulator")
        ->check(CLI::Range(0.0, 0.999999));

    sub.sweep = app.add_subcommand("sweep", "train the student at several λ and draw Fig 5 (errors and feature types vs λ)");
    sub.sweep->fallthrough();  // the main options may follow the subcommand too
    sub.sweep->add_option("--l1-values", o.sweep_l1, "comma-separated λ values")->delimiter(',')->check(CLI::NonNegativeNumber);

    auto& l = o.lm;
    sub.lm = app.add_subcommand("lm", "distil the MLPs of a llama2.c model (e.g. stories260K) on real text: harvest, train, "
                                      "analyses, loss recovered, top-activating examples. Training options apply; unless "
                                      "given, λ = 0.03, lr = 0.003 and d_sae = width ratio × d_mlp.");
    sub.lm->fallthrough();
    sub.lm->add_option("--checkpoint", l.checkpoint, "llama2.c v0 checkpoint (.bin)")->required()->check(CLI::ExistingFile);
    sub.lm->add_option("--tokenizer", l.tokenizer, "llama2.c tokenizer.bin")->required()->check(CLI::ExistingFile);
    sub.lm->add_option("--text", l.text, "UTF-8 text, passages separated by blank lines")->required()->check(CLI::ExistingFile);
    sub.lm->add_option("--layers", l.layers, "layers to distil: 'all' or a comma-separated list")->delimiter(',');
    sub.lm->add_option("--window", l.window, "tokens per sequence")->check(CLI::Range(2, 1 << 20));
    sub.lm->add_option("--held-out", l.held_out, "fraction of passages (the last ones) held out for analyses and loss")
        ->check(CLI::Range(0.001, 0.999));
    sub.lm->add_option("--width-ratio", l.width_ratio, "student features per teacher neuron (the post's 4)")->check(CLI::PositiveNumber);
    sub.lm->add_option("--harvest-dir", l.harvest_dir, "also write the harvested activations there as .npy files");
    sub.lm->add_option("--example-features", l.example_features, "features shown with top-activating contexts")
        ->check(CLI::NonNegativeNumber);
    sub.lm->add_option("--examples-per-feature", l.examples_per_feature, "contexts per feature")->check(CLI::PositiveNumber);

    auto& t = o.train;
    sub.train = app.add_subcommand("train", "distil a teacher from a file on activations from .npy files (or fit precomputed "
                                            "targets), for a fixed number of steps; write metrics.jsonl and save the student "
                                            "for SAELens or sparsify. Training and student options apply.");
    sub.train->fallthrough();
    sub.train->add_option("--teacher", t.teacher, "teacher checkpoint (.safetensors, or a folder with model.safetensors); --teacher-act, when given, overrides its activation");
    sub.train->add_option("--teacher-format", t.teacher_format, "naming scheme of the teacher file")
        ->check(CLI::IsMember({"auto", "transformer_lens", "gpt2", "gptneo", "llama"}));
    sub.train->add_option("--layer", t.layer, "the teacher's layer (ignored for bare transformer_lens names)")
        ->check(CLI::Range(0, 1 << 20));
    sub.train->add_option("--inputs", t.inputs, "input activations, .npy [rows, d_model], read in file order");
    sub.train->add_option("--targets", t.targets, "precomputed teacher outputs, .npy [rows, d_out], one per --inputs file");
    sub.train->add_option("--shuffle-buffer", t.shuffle_buffer, "rows shuffled together (0: file order)")
        ->check(CLI::NonNegativeNumber);
    sub.train->add_option("--init-student", t.init_student, "start from this student: SAELens folder or .safetensors, or sparsify folder");
    sub.train->add_option("--steps", t.steps, "training steps (otherwise --tokens / --batch)")->check(CLI::PositiveNumber);
    sub.train->add_option("--save", t.save, "save the trained student in this folder");
    sub.train->add_option("--save-format", t.save_format, "layout of --save")->check(CLI::IsMember({"saelens", "sparsify"}));
    sub.train->add_option("--dtype", t.dtype, "precision of the student and teacher")->check(CLI::IsMember({"float", "double"}));
    sub.train->add_option("--checkpoint-dir", t.checkpoint_dir,
                          "save the full training state here (at the end, every --checkpoint-every steps, and on "
                          "SIGINT/SIGTERM, which then stop the run with exit status 130/143)");
    sub.train->add_option("--checkpoint-every", t.checkpoint_every, "steps between checkpoints (0: only at the end and on a signal)")
        ->check(CLI::NonNegativeNumber);
    sub.train->add_flag("--resume", t.resume, "continue bit-identically from --checkpoint-dir's checkpoint (same options)");
}

/// The student the options describe (model, training and logging options).
inline sd::experiments::model_spec student_spec(const options& o) {
    const model_options& m = o.student;
    sd::experiments::model_spec student;
    student.config.d_sae = m.d_sae;
    student.config.act = sd::parse_activation(m.act);
    student.config.biases = !m.no_biases;
    student.config.input_bias = sd::parse_pre_bias(m.input_bias);
    student.config.init = sd::parse_student_init(m.init);
    student.config.decoder_constraint = sd::parse_decoder_norm(m.decoder_norm);
    student.config.tied_init_norm = m.tied_init_norm;
    student.train.batch_size = m.batch;
    student.train.tokens = m.tokens;
    student.train.loss.l1_coeff = m.l1;
    student.train.loss.reduction = sd::parse_l1_reduction(m.l1_reduction);
    student.train.schedule.lr = m.lr;
    student.train.schedule.warmup_steps = m.warmup;
    student.train.schedule.lr_min_ratio = m.lr_min_ratio;
    student.train.adam.beta1 = m.beta1;
    student.train.adam.beta2 = m.beta2;
    student.train.adam.eps = m.eps;
    student.train.adam.weight_decay = m.weight_decay;
    student.train.adam.decay_mode = sd::optim::parse_weight_decay_mode(m.decay_mode);
    student.train.callback_every = o.log_every;
    student.name = std::string(sd::to_string(student.config.act)) + "_student";
    return student;
}

/// The experiment the options describe (throws std::invalid_argument for impossible combinations).
inline sd::experiments::planted_distillation_settings to_settings(const options& o) {
    sd::experiments::planted_distillation_settings s;
    s.data = o.data;
    s.d_mlp = o.d_mlp;
    s.teacher_act = sd::parse_activation(o.teacher_act);
    s.teacher_bias_stddev = o.teacher_bias_std;
    s.teacher_output_norm = o.teacher_output_norm;
    s.eval_tokens = o.eval_tokens;
    s.analysis.simulator_threshold = o.threshold;
    s.seed = o.seed;

    sd::experiments::model_spec student = student_spec(o);
    s.models.push_back(student);

    if (o.mode == "run" && !o.no_gelu_student && student.config.act != sd::activation::gelu) {
        sd::experiments::model_spec gelu = student;
        gelu.config.act = sd::activation::gelu;
        gelu.name = "gelu_student";
        s.models.push_back(gelu);
    }
    if (o.mode == "run" && !o.no_sae) {
        sd::experiments::model_spec sae = student;
        sae.sae = true;
        sae.name = "sae";
        sae.config.act = sd::activation::relu;
        sae.config.init = sd::parse_student_init(o.sae_init);
        sae.train.loss.l1_coeff = o.sae_l1;
        s.models.push_back(sae);
    }
    s.validate();
    return s;
}

}  // namespace distill
