// The native student folder (io/detail/native_student.hpp) holds every architecture exactly: write,
// read back, and the read student computes the same function on the same inputs, bit for bit; files
// that do not describe a student are refused naming the file and the field; the SAELens and sparsify
// layouts refuse what they cannot hold; lone reference files with log_threshold / W_skip read as
// JumpReLU and skip students.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <sparse_distill/io/student_export.hpp>
#include <support/shared_data.hpp>
#include <support/temp_files.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>
#include "support/thrown_message.hpp"

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace io_native_student_test {

sd::student_config architecture(sd::sparsity_mode mode, bool skip) {
    sd::student_config c;
    c.d_in = 6;
    c.d_out = 5;
    c.d_sae = 24;
    c.sparsity = mode;
    c.k = sd::keeps_k_latents(mode) ? 3 : 0;
    c.skip = skip;
    c.skip_init_scale = skip ? 0.4 : 0;
    c.threshold_init_logstd = 0.5;
    return c;
}


TEST_CASE_TEMPLATE("native student folder: every architecture round-trips and computes the same function", Scalar, float, double) {
    sd_test::temp_dir tmp("sd_native");
    sd::matrix<Scalar> x(7, 6);
    sd::random::fill_normal(x, sd::random::counter_rng(4, 4));
    for (const sd::sparsity_mode mode :
         {sd::sparsity_mode::l1, sd::sparsity_mode::topk, sd::sparsity_mode::batchtopk, sd::sparsity_mode::jumprelu})
        for (const bool skip : {false, true}) {
            CAPTURE(std::string(sd::to_string(mode)));
            CAPTURE(skip);
            sd::student_config c = architecture(mode, skip);
            if (mode == sd::sparsity_mode::l1 && skip) c.act = sd::activation::gelu;  // GELU students too
            if (mode == sd::sparsity_mode::l1 && !skip) c.pre_bias = sd::pre_bias::learned;
            sd::student_mlp<Scalar> student(c, 11);
            if (mode == sd::sparsity_mode::batchtopk) student.set_batch_threshold(0.125);
            const std::string dir = (tmp.path / (std::string(sd::to_string(mode)) + (skip ? "_skip" : ""))).string();
            sd::io::write_student(dir, sd::io::student_format::native, c, student.weights(), {}, student.batch_threshold());

            const sd::io::stored_student<Scalar> back = sd::io::read_student<Scalar>(dir);
            CHECK(back.format == sd::io::student_format::native);
            CHECK(back.config == c);
            CHECK(back.batch_threshold == student.batch_threshold());
            sd::student_mlp<Scalar> restored(back.config, back.weights);
            restored.set_batch_threshold(back.batch_threshold);
            CHECK(restored.predict(x) == student.predict(x));
            CHECK(restored.encode(x) == student.encode(x));
            if (skip) CHECK(back.weights.w_skip.norm() > 0);  // the skip weight is not left at zero by accident
        }
}

TEST_CASE("native student folder: broken files are refused naming the file and the field") {
    sd_test::temp_dir tmp("sd_native_bad");
    const sd::student_config c = architecture(sd::sparsity_mode::jumprelu, false);
    sd::student_mlp<double> student(c, 3);
    const auto dir = tmp.path / "jump";
    sd::io::write_student(dir.string(), sd::io::student_format::native, c, student.weights());
    const auto cfg_path = dir / "cfg.json";
    const nlohmann::json good = nlohmann::json::parse(sd_test::read_file(cfg_path));

    auto with_cfg = [&](const nlohmann::json& cfg) {
        sd_test::write_file(cfg_path, cfg.dump());
        return sd_test::thrown_message<sd::io::io_error>([&] { sd::io::read_student<double>(dir); });
    };
    nlohmann::json cfg = good;
    cfg["student"]["k"] = -1;
    CHECK(with_cfg(cfg).find("cfg.json: student: student_config: k = -1 is set but sparsity = jumprelu") != std::string::npos);
    cfg = good;
    cfg["student"]["sparsity"] = "topk";
    cfg["student"]["k"] = 2;
    // A TopK student has no thresholds: the weights file's log_threshold is unexpected.
    CHECK(with_cfg(cfg).find("student.safetensors: tensor 'log_threshold': unexpected") != std::string::npos);
    cfg = good;
    cfg["student"]["skip"] = true;
    CHECK(with_cfg(cfg).find("tensor 'W_skip': missing") != std::string::npos);
    cfg = good;
    cfg["format_version"] = 7;
    CHECK(with_cfg(cfg).find("format_version: expected 1, found 7") != std::string::npos);
    cfg = good;
    cfg["batch_threshold"] = -1;
    CHECK(with_cfg(cfg).find("batch_threshold: expected a finite non-negative number") != std::string::npos);
}

TEST_CASE("SAELens and sparsify layouts refuse the architectures they cannot hold, naming the field") {
    sd_test::temp_dir tmp("sd_native_refuse");
    const auto refused = [&](sd::io::student_format format, const sd::student_config& c) {
        sd::student_mlp<float> student(c, 1);
        return sd_test::thrown_message<sd::io::io_error>(
            [&] { sd::io::write_student((tmp.path / "x").string(), format, c, student.weights()); });
    };
    sd::student_config batchtopk = architecture(sd::sparsity_mode::batchtopk, false);
    batchtopk.d_out = batchtopk.d_in;
    CHECK(refused(sd::io::student_format::sparsify, batchtopk).find("a batchtopk student (sparsity) cannot be written") != std::string::npos);
    sd::student_config skip_topk = architecture(sd::sparsity_mode::topk, true);
    skip_topk.d_out = skip_topk.d_in;
    CHECK(refused(sd::io::student_format::saelens, skip_topk).find("SAELens has no topk skip transcoder") != std::string::npos);
    const sd::student_config wide_topk = architecture(sd::sparsity_mode::topk, false);  // d_out ≠ d_in
    CHECK(refused(sd::io::student_format::saelens, wide_topk).find("no TopK transcoder") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(tmp.path / "x"));
}

TEST_CASE("lone reference files: log_threshold makes a JumpReLU student, W_skip a skip transcoder (needs shared/data)") {
    SD_REQUIRE_SHARED_DATA("reference/train_step_variants/jumprelu/student_init.safetensors");
    const auto root = sd_test::shared_data_dir() / "reference/train_step_variants";
    const auto jump = sd::io::read_student<double>(root / "jumprelu/student_init.safetensors");
    CHECK(jump.config.sparsity == sd::sparsity_mode::jumprelu);
    CHECK(jump.weights.log_threshold.size() == 64);
    // θ from 0.03 to 0.28, as the reference README says.
    CHECK(jump.weights.log_threshold.array().exp().minCoeff() > 0.02);
    CHECK(jump.weights.log_threshold.array().exp().maxCoeff() < 0.3);
    const auto skip = sd::io::read_student<double>(root / "skip_topk/student_init.safetensors");
    CHECK(skip.config.skip);
    CHECK(skip.weights.w_skip.rows() == 16);
    CHECK(skip.config.sparsity == sd::sparsity_mode::l1);  // TopK is the caller's to say: the file cannot
}

TEST_CASE_TEMPLATE("SAELens and sparsify folders of TopK, BatchTopK, JumpReLU and skip students compute the same function", Scalar,
                   float, double) {
    sd_test::temp_dir tmp("sd_arch_export");
    sd::matrix<Scalar> x(9, 6);
    sd::random::fill_normal(x, sd::random::counter_rng(8, 8));
    struct export_case {
        sd::sparsity_mode mode;
        bool skip;
        sd::io::student_format format;
        const char* architecture;  // cfg.json "architecture" (SAELens) or "" (sparsify)
    };
    const export_case cases[] = {
        {sd::sparsity_mode::topk, false, sd::io::student_format::saelens, "topk"},
        {sd::sparsity_mode::batchtopk, false, sd::io::student_format::saelens, "jumprelu_transcoder"},
        {sd::sparsity_mode::jumprelu, false, sd::io::student_format::saelens, "jumprelu_transcoder"},
        {sd::sparsity_mode::l1, true, sd::io::student_format::saelens, "skip_transcoder"},
        {sd::sparsity_mode::topk, false, sd::io::student_format::sparsify, ""},
        {sd::sparsity_mode::topk, true, sd::io::student_format::sparsify, ""},
        {sd::sparsity_mode::l1, true, sd::io::student_format::sparsify, ""},
    };
    for (const export_case& e : cases) {
        CAPTURE(std::string(sd::to_string(e.mode)));
        CAPTURE(e.skip);
        CAPTURE(std::string(sd::io::to_string(e.format)));
        sd::student_config c = architecture(e.mode, e.skip);
        c.d_out = c.d_in;  // square: a transposed W_skip has the right shape and only its values can tell
        sd::student_mlp<Scalar> student(c, 21);
        if (e.mode == sd::sparsity_mode::batchtopk) student.set_batch_threshold(0.3);
        const auto dir = tmp.path / (std::string(sd::to_string(e.mode)) + (e.skip ? "_skip_" : "_") + std::string(sd::io::to_string(e.format)));
        sd::io::write_student(dir, e.format, c, student.weights(), {}, student.batch_threshold());
        const sd::io::stored_student<Scalar> back = sd::io::read_student<Scalar>(dir);
        CHECK(back.config.skip == e.skip);
        if (e.format == sd::io::student_format::saelens) {
            const nlohmann::json cfg = nlohmann::json::parse(sd_test::read_file(dir / "cfg.json"));
            CHECK(cfg["architecture"] == e.architecture);
        }
        if (e.mode == sd::sparsity_mode::topk) CHECK(back.config.k == c.k);
        // A BatchTopK student is written as the JumpReLU it is at inference: θ = τ for every latent.
        if (e.mode == sd::sparsity_mode::batchtopk) {
            CHECK(back.config.sparsity == sd::sparsity_mode::jumprelu);
            for (sd::index_t j = 0; j < c.d_sae; ++j) CHECK(std::exp(double(back.weights.log_threshold[j])) == doctest::Approx(0.3).epsilon(1e-6));
        }
        if (e.skip) {
            // The file holds W_skip in the tool's orientation, [d_out, d_in] = ours transposed.
            const auto file = sd::io::read_safetensors(dir / (e.format == sd::io::student_format::saelens ? "sae_weights.safetensors" : "sae.safetensors"));
            const sd::matrix<Scalar> stored = sd::io::to_matrix<Scalar>(file.at("W_skip"), "W_skip");
            CHECK(stored == student.weights().w_skip.transpose());
            CHECK(student.weights().w_skip != student.weights().w_skip.transpose());  // not symmetric by chance
        }
        sd::student_mlp<Scalar> restored(back.config, back.weights);
        const sd::matrix<Scalar> ours = student.predict(x), theirs = restored.predict(x);
        CHECK((ours - theirs).norm() <= Scalar(1e-5) * ours.norm());
    }
}

}  // namespace io_native_student_test
