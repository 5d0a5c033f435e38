#pragma once
// The planted-feature experiment's options, shared by `run` (the default) and `sweep`: the data, the
// random teacher, the SAE baseline and the analysis, with defaults that finish in well under two minutes
// on two cores and reproduce the post's qualitative findings.
#include "common_options.hpp"

#include <sparse_distill/experiments/planted_distillation.hpp>

#include <string>

namespace distill {

struct planted_options {
    sd::data::planted_feature_settings data{64, 512, 0.008, 0.5, 1.5, 0.02};
    sd::index_t d_mlp = 256;
    std::string teacher_act = "gelu";
    double teacher_bias_std = 0.5;
    double teacher_output_norm = 0.5;
    bool no_gelu_student = false;
    bool no_sae = false;
    double sae_l1 = 0.1;
    std::string sae_init = "tied_transpose";
    sd::index_t eval_tokens = 16384;
};

inline void add_planted_options(CLI::App& app, planted_options& o) {
    auto* data = app.add_option_group("Planted data", "inputs x = Σ m_i·f_i + σ·ε with F unit directions f_i in R^d");
    data->add_option("--dim", o.data.dim, "d, the input (and output) dimension")->check(positive_number);
    data->add_option("--features", o.data.features, "F, planted directions (F > d: superposition)")->check(positive_number);
    data->add_option("--probability", o.data.probability, "chance that a feature is active on a token")->check(unit_interval);
    data->add_option("--magnitude-min", o.data.magnitude_min, "an active feature's magnitude ~ U[min, max]")->check(non_negative_number);
    data->add_option("--magnitude-max", o.data.magnitude_max, "upper end of the magnitude range")->check(non_negative_number);
    data->add_option("--noise", o.data.noise_stddev, "σ of the isotropic noise per coordinate")->check(non_negative_number);

    auto* teacher = app.add_option_group("Teacher", "a random MLP, W_in scaled so pre-activations have unit variance");
    teacher->add_option("--d-mlp", o.d_mlp, "teacher neurons")->check(positive_number);
    teacher->add_option("--teacher-act", o.teacher_act, "teacher activation")->check(CLI::IsMember(sd::activation_names.names()));
    teacher->add_option("--teacher-bias-std", o.teacher_bias_std, "b_in ~ N(0, σ²)")->check(non_negative_number);
    teacher->add_option("--teacher-output-norm", o.teacher_output_norm, "typical norm of a neuron's output vector")
        ->check(positive_number);

    auto* sae = app.add_option_group("Baselines", "the student's GELU twin, and an SAE on the teacher's output, trained like the student");
    sae->add_flag("--no-gelu-student", o.no_gelu_student, "do not train the GELU twin (Appendix B)");
    sae->add_flag("--no-sae", o.no_sae, "do not train the SAE baseline");
    sae->add_option("--sae-l1", o.sae_l1, "the SAE's λ")->check(non_negative_number);
    sae->add_option("--sae-init", o.sae_init, "the SAE's initialisation")->check(CLI::IsMember(sd::student_init_names.names()));

    app.add_option_group("Held-out tokens")
        ->add_option("--eval-tokens", o.eval_tokens, "held-out tokens for every analysis")
        ->check(positive_number);
}

/// The experiment: the student; with `baselines`, also its GELU twin and the SAE (as the options say).
/// Throws bad_settings for impossible combinations.
inline sd::experiments::planted_distillation_settings planted_settings(const shared_options& shared, const planted_options& o,
                                                                       const student_options& student_options, bool baselines) {
    try {
        sd::experiments::planted_distillation_settings s;
        s.data = o.data;
        s.d_mlp = o.d_mlp;
        s.teacher_act = sd::parse_activation(o.teacher_act);
        s.teacher_bias_stddev = o.teacher_bias_std;
        s.teacher_output_norm = o.teacher_output_norm;
        s.eval_tokens = o.eval_tokens;
        s.analysis.simulator_threshold = shared.common.threshold;
        s.seed = shared.common.seed;

        const sd::experiments::model_spec student = student_spec(student_options, shared.common.log_every);
        s.models.push_back(student);
        // The GELU twin of the post's Appendix B is a twin of the ReLU + L1 student.
        if (baselines && !o.no_gelu_student && student.config.act != sd::activation::gelu &&
            student.config.sparsity == sd::sparsity_mode::l1) {
            sd::experiments::model_spec gelu = student;
            gelu.config.act = sd::activation::gelu;
            gelu.name = "gelu_student";
            s.models.push_back(gelu);
        }
        if (baselines && !o.no_sae) {
            sd::experiments::model_spec sae = student;
            sae.sae = true;
            sae.name = "sae";
            sae.config.act = sd::activation::relu;
            // The SAE baseline is the post's: ReLU + L1, whatever the student's architecture.
            sae.config.sparsity = sd::sparsity_mode::l1;
            sae.config.k = 0;
            sae.config.skip = false;
            sae.train.loss.l0_coeff = 0;
            sae.train.loss.auxk = {};
            sae.config.init = sd::parse_student_init(o.sae_init);
            sae.train.loss.l1_coeff = o.sae_l1;
            s.models.push_back(sae);
        }
        s.validate();
        return s;
    } catch (const std::invalid_argument& e) {
        throw bad_settings(e.what());
    }
}

}  // namespace distill
