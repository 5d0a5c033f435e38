#pragma once
// Three training steps against tensors written by PyTorch (shared/data/reference/train_step, see its
// README): teacher, initial student and inputs are loaded, the trainer runs with the reference config,
// and every tensor and logged value is compared after each step. Typed over the backend, so the CPU
// suite and the CUDA suite (tests/cuda) run the same check.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <support/shared_data.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <type_traits>

namespace sd_test {

template <class A, class B>
double reference_relative_difference(const A& ours, const B& reference) {
    const double denominator = reference.template cast<double>().norm();
    return (ours.template cast<double>() - reference.template cast<double>()).norm() / (denominator > 0 ? denominator : 1.0);
}

/// The batch, step count, Adam and schedule of a reference config (train_step/ and train_step_variants/
/// share these keys).
inline sparse_distill::train_settings reference_train_settings(const nlohmann::json& c) {
    namespace sd = sparse_distill;
    sd::train_settings ts;
    ts.batch_size = c["batch"].get<sd::index_t>();
    ts.tokens = c["steps"].get<std::int64_t>() * ts.batch_size;
    ts.adam.beta1 = c["betas"][0].get<double>();
    ts.adam.beta2 = c["betas"][1].get<double>();
    ts.adam.eps = c["eps"].get<double>();
    ts.adam.weight_decay = c["weight_decay"].get<double>();
    ts.adam.weight_decay_mode = sd::optim::parse_weight_decay_mode(c["weight_decay_mode"].get<std::string>());
    ts.schedule = {c["lr"].get<double>(), c["warmup_steps"].get<std::int64_t>(), c["total_steps"].get<std::int64_t>(),
                   c["lr_min_ratio"].get<double>()};
    return ts;
}

/// `tolerance`: relative error allowed per tensor and per logged value.
template <class Scalar, class Backend>
void check_reference_train_step(double tolerance) {
    namespace sd = sparse_distill;
    SD_REQUIRE_SHARED_DATA("reference/train_step/expected.json");
    const auto dir = sd_test::shared_data_dir() / "reference/train_step";
    nlohmann::json expected;
    std::ifstream(dir / "expected.json") >> expected;
    const nlohmann::json& c = expected["config"];

    const auto teacher_file = sd::io::read_safetensors(dir / "teacher.safetensors");
    sd::teacher_mlp<Scalar, Backend> teacher(sd::io::mlp_weights_from_transformer_lens<Scalar>(
        teacher_file, sd::parse_activation(c["teacher_act"].get<std::string>())));

    sd::student_config sc;
    sc.d_in = sc.d_out = c["d_model"].get<sd::index_t>();
    sc.d_sae = c["d_sae"].get<sd::index_t>();
    sc.act = sd::parse_activation(c["student_act"].get<std::string>());
    sc.decoder_norm = sd::parse_decoder_norm(c["decoder_norm"].get<std::string>());
    sd::student_mlp<Scalar, Backend> student(
        sc, sd::io::student_weights_from_saelens<Scalar>(sd::io::read_safetensors(dir / "student_init.safetensors")));

    sd::train_settings ts = reference_train_settings(c);
    ts.loss.l1_coeff = c["l1_coeff"].get<double>();
    ts.loss.l1_reduction = sd::parse_l1_reduction(c["l1_reduction"].get<std::string>());

    sd::data::matrix_source<Scalar> source(sd::io::to_matrix<Scalar>(sd::io::read_npy(dir / "inputs.npy"), "inputs.npy"));
    sd::trainer<Scalar, Backend> trainer(student, teacher, ts);
    const double tol = tolerance;

    for (int step = 1; step <= c["steps"].get<int>(); ++step) {
        CAPTURE(step);
        sd::step_metrics m;
        REQUIRE(trainer.step(source, m));
        const nlohmann::json& log = expected["log"][step - 1];
        CHECK(m.step == log["step"].get<int>());
        CHECK(m.lr == doctest::Approx(log["lr"].get<double>()).epsilon(1e-12));
        CHECK(m.terms.loss == doctest::Approx(log["loss"].get<double>()).epsilon(tol));
        CHECK(m.terms.mse == doctest::Approx(log["mse"].get<double>()).epsilon(tol));
        CHECK(m.terms.l1 == doctest::Approx(log["l1"].get<double>()).epsilon(tol));
        CHECK(m.terms.l0 == doctest::Approx(log["l0"].get<double>()).epsilon(tol));

        const auto ref = sd::io::student_weights_from_saelens<double>(
            sd::io::read_safetensors(dir / ("student_after_step" + std::to_string(step) + ".safetensors")));
        const sd::student_weights<Scalar> ours = student.weights();
        const double d_w_enc = reference_relative_difference(ours.w_enc, ref.w_enc);
        const double d_b_enc = reference_relative_difference(ours.b_enc, ref.b_enc);
        const double d_w_dec = reference_relative_difference(ours.w_dec, ref.w_dec);
        const double d_b_dec = reference_relative_difference(ours.b_dec, ref.b_dec);
        MESSAGE(std::string(Backend::name) << " step " << step << " relative differences: W_enc " << d_w_enc << ", b_enc " << d_b_enc << ", W_dec "
                        << d_w_dec << ", b_dec " << d_b_dec);
        CHECK(d_w_enc < tol);
        CHECK(d_b_enc < tol);
        CHECK(d_w_dec < tol);
        CHECK(d_b_dec < tol);
        // The cap holds: no decoder row longer than 1.
        CHECK(ours.w_dec.rowwise().norm().maxCoeff() <= Scalar(1) + Scalar(1e-6));
    }
}

}  // namespace sd_test
