#pragma once
// Three training steps of each sparse architecture against the float64 reference runs in
// shared/data/reference/train_step_variants (TopK, TopK + AuxK with and without the encoder
// gradient, BatchTopK, JumpReLU, TopK with a skip connection; every formula is in that folder's
// README). Each step compares the loss terms the reference logs, every gradient before the update and
// every parameter after it. Typed over the backend, so the CPU and CUDA suites run the same check;
// `sparse_below_density` 0 keeps the dense path, 1 takes the sparse path wherever the mode allows.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <support/shared_data.hpp>

#include "reference_train_step.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace sd_test {

inline constexpr const char* reference_variants[] = {"topk",      "topk_auxk", "topk_auxk_encoder",
                                                      "batchtopk", "jumprelu",  "skip_topk"};

/// A student safetensors file with SAELens names (W_enc [d_in, d_sae], b_enc, W_dec, b_dec, and
/// log_threshold / W_skip [d_in, d_out] where present) as feature-major weights.
template <class Scalar>
sparse_distill::student_weights<Scalar> reference_student_weights(const std::filesystem::path& file) {
    namespace sd = sparse_distill;
    const sd::io::safetensors_file f = sd::io::read_safetensors(file);
    sd::student_weights<Scalar> w;
    w.w_enc = sd::io::to_matrix<Scalar>(f.at("W_enc"), "W_enc").transpose();
    w.b_enc = sd::io::to_vector<Scalar>(f.at("b_enc"), "b_enc");
    w.w_dec = sd::io::to_matrix<Scalar>(f.at("W_dec"), "W_dec");
    w.b_dec = sd::io::to_vector<Scalar>(f.at("b_dec"), "b_dec");
    if (f.tensors.count("log_threshold")) w.log_threshold = sd::io::to_vector<Scalar>(f.at("log_threshold"), "log_threshold");
    if (f.tensors.count("W_skip")) w.w_skip = sd::io::to_matrix<Scalar>(f.at("W_skip"), "W_skip");
    return w;
}

/// Every tensor of `ours` within `tolerance` (relative, per tensor) of `reference`.
template <class Scalar>
void check_student_tensors(const sparse_distill::student_weights<Scalar>& ours, const sparse_distill::student_weights<double>& reference,
                           double tolerance, const std::string& what) {
    const double d_w_enc = reference_relative_difference(ours.w_enc, reference.w_enc);
    const double d_b_enc = reference_relative_difference(ours.b_enc, reference.b_enc);
    const double d_w_dec = reference_relative_difference(ours.w_dec, reference.w_dec);
    const double d_b_dec = reference_relative_difference(ours.b_dec, reference.b_dec);
    MESSAGE(what << " relative differences: W_enc " << d_w_enc << ", b_enc " << d_b_enc << ", W_dec " << d_w_dec << ", b_dec " << d_b_dec);
    CHECK(d_w_enc < tolerance);
    CHECK(d_b_enc < tolerance);
    CHECK(d_w_dec < tolerance);
    CHECK(d_b_dec < tolerance);
    REQUIRE(ours.log_threshold.size() == reference.log_threshold.size());
    if (reference.log_threshold.size() > 0) CHECK(reference_relative_difference(ours.log_threshold, reference.log_threshold) < tolerance);
    REQUIRE(ours.w_skip.size() == reference.w_skip.size());
    if (reference.w_skip.size() > 0) CHECK(reference_relative_difference(ours.w_skip, reference.w_skip) < tolerance);
}

/// The student's gradient buffer as student_weights (the same layout as its parameters).
template <class Scalar, class Backend>
sparse_distill::student_weights<Scalar> gradients_as_weights(sparse_distill::student_mlp<Scalar, Backend>& student) {
    namespace sd = sparse_distill;
    sd::student_mlp<Scalar, Backend> holder(student.config(), student.weights());
    std::vector<Scalar> host(static_cast<std::size_t>(student.parameter_count()));
    sd::backend::copy_to_host<Backend>(student.gradients(), host.data(), student.parameter_count());
    sd::backend::copy_from_host<Backend>(host.data(), holder.parameters(), student.parameter_count());
    return holder.weights();
}

/// The reference variant `name` (a folder of train_step_variants) reproduced step by step.
template <class Scalar, class Backend>
void check_reference_variant(const std::string& name, double tolerance, double sparse_below_density) {
    namespace sd = sparse_distill;
    const std::string relative = "reference/train_step_variants/" + name + "/expected.json";
    SD_REQUIRE_SHARED_DATA(relative);
    const auto dir = sd_test::shared_data_dir() / "reference/train_step_variants" / name;
    nlohmann::json expected;
    std::ifstream(dir / "expected.json") >> expected;
    const nlohmann::json& c = expected["config"];
    const std::string variant = c["variant"].get<std::string>();

    const auto teacher_file = sd::io::read_safetensors(dir / "teacher.safetensors");
    sd::teacher_mlp<Scalar, Backend> teacher(sd::io::mlp_weights_from_transformer_lens<Scalar>(
        teacher_file, sd::parse_activation(c["teacher_act"].get<std::string>())));

    sd::student_config sc;
    sc.d_in = sc.d_out = c["d_model"].get<sd::index_t>();
    sc.d_sae = c["d_sae"].get<sd::index_t>();
    sc.decoder_norm = sd::parse_decoder_norm(c["decoder_norm"].get<std::string>());
    sc.sparse_below_density = sparse_below_density;
    sc.sparsity = variant == "batchtopk"  ? sd::sparsity_mode::batchtopk
                  : variant == "jumprelu" ? sd::sparsity_mode::jumprelu
                                          : sd::sparsity_mode::topk;
    if (c.contains("k")) sc.k = c["k"].get<sd::index_t>();
    sc.skip = variant == "skip_topk";
    if (c.contains("topk_threshold_lr")) sc.threshold_rate = c["topk_threshold_lr"].get<double>();
    sd::student_mlp<Scalar, Backend> student(sc, reference_student_weights<Scalar>(dir / "student_init.safetensors"));
    if (c.contains("topk_threshold_init")) student.set_batch_threshold(c["topk_threshold_init"].get<double>());

    sd::train_settings ts = reference_train_settings(c);
    if (c.contains("l0_coeff")) ts.loss.l0_coeff = c["l0_coeff"].get<double>();
    if (c.contains("bandwidth")) ts.loss.bandwidth = c["bandwidth"].get<double>();
    if (c.contains("auxk_alpha")) {
        ts.loss.auxk.alpha = c["auxk_alpha"].get<double>();
        ts.loss.auxk.to_encoder = c["auxk_grad_to_encoder"].get<bool>();
        // The reference's k_aux = min(⌊d_out/2⌋, |D|) is the default (auxk.k = 0).
        CHECK(c["k_aux"].get<sd::index_t>() == std::min<sd::index_t>(sc.d_out / 2, c["num_dead"].get<sd::index_t>()));
    }

    sd::data::matrix_source<Scalar> source(sd::io::to_matrix<Scalar>(sd::io::read_npy(dir / "inputs.npy"), "inputs.npy"));
    sd::trainer<Scalar, Backend> trainer(student, teacher, ts);
    if (c.contains("dead_latents")) {
        std::vector<bool> dead(static_cast<std::size_t>(sc.d_sae), false);
        for (const auto& j : c["dead_latents"]) dead[j.get<std::size_t>()] = true;
        trainer.fix_dead_latents(dead);
    }

    for (int step = 1; step <= c["steps"].get<int>(); ++step) {
        CAPTURE(name);
        CAPTURE(step);
        sd::step_metrics m;
        REQUIRE(trainer.step(source, m));
        const nlohmann::json& log = expected["log"][step - 1];
        CHECK(m.step == log["step"].get<int>());
        CHECK(m.lr == doctest::Approx(log["lr"].get<double>()).epsilon(1e-12));
        CHECK(m.terms.loss == doctest::Approx(log["loss"].get<double>()).epsilon(tolerance));
        CHECK(m.terms.mse == doctest::Approx(log["mse"].get<double>()).epsilon(tolerance));
        CHECK(m.terms.l0 == doctest::Approx(log["l0"].get<double>()).epsilon(tolerance));
        if (log.contains("auxk_loss")) {
            CHECK(m.terms.auxk == doctest::Approx(log["auxk_loss"].get<double>()).epsilon(tolerance));
            CHECK(m.terms.total_variance == doctest::Approx(log["total_variance"].get<double>()).epsilon(tolerance));
        }
        if (log.contains("l0_loss")) {
            CHECK(ts.loss.l0_coeff * m.terms.l0 == doctest::Approx(log["l0_loss"].get<double>()).epsilon(tolerance));
            CHECK(m.terms.threshold_window == log["n_in_window"].get<double>());
        }
        if (log.contains("topk_threshold"))
            CHECK(student.batch_threshold() == doctest::Approx(log["topk_threshold"].get<double>()).epsilon(tolerance));

        const std::string at = std::string(Backend::name) + " " + name + " step " + std::to_string(step);
        check_student_tensors(gradients_as_weights(student),
                              reference_student_weights<double>(dir / ("grads_step" + std::to_string(step) + ".safetensors")),
                              tolerance, at + " gradients");
        check_student_tensors(student.weights(),
                              reference_student_weights<double>(dir / ("student_after_step" + std::to_string(step) + ".safetensors")),
                              tolerance, at + " parameters");
    }
}

}  // namespace sd_test
