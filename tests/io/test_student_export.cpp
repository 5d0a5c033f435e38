// Students written in the SAELens v6 and sparsify layouts: bit-exact round trips, the tensors'
// names, shapes and orientation against hand-made values, cfg.json contents, refusals of students a
// format cannot hold, and errors for files that are not ReLU students.
#include <doctest/doctest.h>
#include <sparse_distill/io/model_files.hpp>
#include <sparse_distill/io/student_export.hpp>
#include <support/shared_data.hpp>
#include <support/temp_files.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include "support/thrown_message.hpp"

namespace sd = sparse_distill;
namespace fs = std::filesystem;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace io_student_export_test {

template <class Scalar>
sd::student_weights<Scalar> random_weights(const sd::student_config& c) {
    sd::student_weights<Scalar> w;
    w.w_enc = sd::matrix<Scalar>::Random(c.d_sae, c.d_in);
    w.w_dec = sd::matrix<Scalar>::Random(c.d_sae, c.d_out);
    w.b_enc = sd::vector<Scalar>::Random(c.d_sae);
    w.b_dec = sd::vector<Scalar>::Random(c.d_out);
    return w;
}

sd::student_config config(sd::index_t d_in, sd::index_t d_sae, sd::index_t d_out) {
    sd::student_config c;
    c.d_in = d_in;
    c.d_sae = d_sae;
    c.d_out = d_out;
    return c;
}

template <class Scalar>
void check_bit_equal(const sd::student_weights<Scalar>& a, const sd::student_weights<Scalar>& b) {
    REQUIRE(a.w_enc.rows() == b.w_enc.rows());
    REQUIRE(a.w_enc.cols() == b.w_enc.cols());
    REQUIRE(a.w_dec.rows() == b.w_dec.rows());
    REQUIRE(a.w_dec.cols() == b.w_dec.cols());
    REQUIRE(a.b_enc.size() == b.b_enc.size());
    REQUIRE(a.b_dec.size() == b.b_dec.size());
    CHECK(a.w_enc == b.w_enc);
    CHECK(a.w_dec == b.w_dec);
    CHECK(a.b_enc == b.b_enc);
    CHECK(a.b_dec == b.b_dec);
    CHECK(b.b_pre.size() == 0);
}

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(sd_test::read_file(path)); }

void write_json(const fs::path& path, const nlohmann::json& json) { sd_test::write_file(path, json.dump()); }


TEST_CASE_TEMPLATE("student export: SAELens folder round trip is bit for bit", Scalar, float, double) {
    sd_test::temp_dir tmp("sd_export");
    const auto c = config(5, 7, 3);
    const auto w = random_weights<Scalar>(c);
    sd::io::write_student(tmp / "sae", sd::io::student_format::saelens, c, w);
    CHECK(fs::exists(tmp / "sae/sae_weights.safetensors"));
    CHECK(fs::exists(tmp / "sae/cfg.json"));

    const auto back = sd::io::read_student<Scalar>(tmp / "sae");
    CHECK(back.format == sd::io::student_format::saelens);
    CHECK(back.config.d_in == 5);
    CHECK(back.config.d_sae == 7);
    CHECK(back.config.d_out == 3);
    CHECK(back.config.act == sd::activation::relu);
    CHECK(back.config.pre_bias == sd::pre_bias::none);
    check_bit_equal(w, back.weights);
    // The weights file named directly is read with its folder's cfg.json.
    check_bit_equal(w, sd::io::read_student<Scalar>(tmp / "sae/sae_weights.safetensors").weights);
}

TEST_CASE_TEMPLATE("student export: sparsify folder round trip is bit for bit", Scalar, float, double) {
    sd_test::temp_dir tmp("sd_export");
    const auto c = config(4, 6, 4);
    const auto w = random_weights<Scalar>(c);
    sd::io::write_student(tmp / "coder", sd::io::student_format::sparsify, c, w);
    CHECK(fs::exists(tmp / "coder/sae.safetensors"));

    const auto back = sd::io::read_student<Scalar>(tmp / "coder");
    CHECK(back.format == sd::io::student_format::sparsify);
    CHECK(back.config.d_in == 4);
    CHECK(back.config.d_sae == 6);
    CHECK(back.config.d_out == 4);
    CHECK(back.config.pre_bias == sd::pre_bias::none);
    check_bit_equal(w, back.weights);
}

TEST_CASE_TEMPLATE("student export: a b_dec-centred student (tied_decoder) round trips in both formats", Scalar, float, double) {
    sd_test::temp_dir tmp("sd_export");
    auto c = config(4, 6, 4);
    c.pre_bias = sd::pre_bias::tied_decoder;
    const auto w = random_weights<Scalar>(c);
    sd::io::write_student(tmp / "sae", sd::io::student_format::saelens, c, w);
    sd::io::write_student(tmp / "coder", sd::io::student_format::sparsify, c, w);

    const auto cfg = read_json(tmp / "sae/cfg.json");
    CHECK(cfg["architecture"] == "standard");
    CHECK(cfg["apply_b_dec_to_input"] == true);
    CHECK(read_json(tmp / "coder/cfg.json")["transcode"] == false);
    for (const char* name : {"sae", "coder"}) {
        CAPTURE(name);
        const auto back = sd::io::read_student<Scalar>(tmp / name);
        CHECK(back.config.pre_bias == sd::pre_bias::tied_decoder);
        check_bit_equal(w, back.weights);
    }
}

TEST_CASE("student export: tensor names, shapes and orientation against hand-made values") {
    sd_test::temp_dir tmp("sd_export");
    const auto c = config(3, 2, 4);
    sd::student_weights<float> w;
    w.w_enc.resize(2, 3);
    w.w_enc << 1, 2, 3, 4, 5, 6;  // feature 0 reads (1, 2, 3), feature 1 reads (4, 5, 6)
    w.w_dec.resize(2, 4);
    w.w_dec << 10, 11, 12, 13, 20, 21, 22, 23;  // feature j writes row j
    w.b_enc.resize(2);
    w.b_enc << -1, -2;
    w.b_dec.resize(4);
    w.b_dec << 0.5, 0.25, 0.125, 0.0625;
    sd::io::write_student(tmp / "sae", sd::io::student_format::saelens, c, w);

    const auto file = sd::io::read_safetensors(tmp / "sae/sae_weights.safetensors");
    CHECK(file.tensors.size() == 4);
    const auto& w_enc = file.at("W_enc");
    CHECK(w_enc.type == sd::io::dtype::f32);
    CHECK(w_enc.shape == std::vector<std::int64_t>{3, 2});  // [d_in, d_sae]: column j is feature j
    CHECK(sd::io::to_values<float>(w_enc) == std::vector<float>{1, 4, 2, 5, 3, 6});
    CHECK(file.at("W_dec").shape == std::vector<std::int64_t>{2, 4});  // [d_sae, d_out]: row j is feature j
    CHECK(sd::io::to_values<float>(file.at("W_dec")) == std::vector<float>{10, 11, 12, 13, 20, 21, 22, 23});
    CHECK(file.at("b_enc").shape == std::vector<std::int64_t>{2});
    CHECK(sd::io::to_values<float>(file.at("b_dec")) == std::vector<float>{0.5, 0.25, 0.125, 0.0625});

    // sparsify: encoder.weight is nn.Linear's [out_features, in_features] = [d_sae, d_in].
    auto square = config(3, 2, 3);
    sd::student_weights<float> s = w;
    s.w_dec = w.w_dec.leftCols(3);
    s.b_dec = w.b_dec.head(3);
    sd::io::write_student(tmp / "coder", sd::io::student_format::sparsify, square, s);
    const auto coder = sd::io::read_safetensors(tmp / "coder/sae.safetensors");
    CHECK(coder.tensors.size() == 4);
    CHECK(coder.at("encoder.weight").shape == std::vector<std::int64_t>{2, 3});
    CHECK(sd::io::to_values<float>(coder.at("encoder.weight")) == std::vector<float>{1, 2, 3, 4, 5, 6});
    CHECK(sd::io::to_values<float>(coder.at("encoder.bias")) == std::vector<float>{-1, -2});
    CHECK(coder.at("W_dec").shape == std::vector<std::int64_t>{2, 3});
    CHECK(sd::io::to_values<float>(coder.at("W_dec")) == std::vector<float>{10, 11, 12, 20, 21, 22});
    CHECK(coder.at("b_dec").shape == std::vector<std::int64_t>{3});

    // And a hand-made lone SAELens file reads back in the library's feature-major layout.
    std::map<std::string, sd::io::tensor_data> tensors;
    tensors.emplace("W_enc", sd::io::from_values<double>({3, 2}, sd::io::dtype::f64, std::vector<double>{1, 4, 2, 5, 3, 6}));
    tensors.emplace("b_enc", sd::io::from_values<double>({2}, sd::io::dtype::f64, std::vector<double>{-1, -2}));
    tensors.emplace("W_dec", sd::io::from_values<double>({2, 1}, sd::io::dtype::f64, std::vector<double>{7, 8}));
    tensors.emplace("b_dec", sd::io::from_values<double>({1}, sd::io::dtype::f64, std::vector<double>{9}));
    sd::io::write_safetensors(tmp / "lone.safetensors", tensors);
    const auto lone = sd::io::read_student<double>(tmp / "lone.safetensors");
    CHECK(lone.config.d_in == 3);
    CHECK(lone.config.d_sae == 2);
    CHECK(lone.config.d_out == 1);
    CHECK(lone.weights.w_enc(0, 0) == 1);
    CHECK(lone.weights.w_enc(0, 2) == 3);
    CHECK(lone.weights.w_enc(1, 0) == 4);
    CHECK(lone.weights.w_dec(1, 0) == 8);
}

TEST_CASE_TEMPLATE("student export: cfg.json holds the SAELens v6 and sparsify fields", Scalar, float, double) {
    sd_test::temp_dir tmp("sd_export");
    const auto c = config(6, 10, 6);
    const auto w = random_weights<Scalar>(c);
    sd::io::write_student(tmp / "sae", sd::io::student_format::saelens, c, w,
                          {"stories260K", "blocks.1.ln2.hook_normalized", "blocks.1.hook_mlp_out"});
    const auto cfg = read_json(tmp / "sae/cfg.json");
    const std::string dtype = std::is_same_v<Scalar, float> ? "float32" : "float64";
    CHECK(cfg["architecture"] == "transcoder");
    CHECK(cfg["d_in"] == 6);
    CHECK(cfg["d_sae"] == 10);
    CHECK(cfg["d_out"] == 6);
    CHECK(cfg["dtype"] == dtype);
    CHECK(cfg["device"] == "cpu");
    CHECK(cfg["apply_b_dec_to_input"] == false);
    CHECK(cfg["normalize_activations"] == "none");
    CHECK(cfg["metadata"]["sae_lens_version"] == "6.5.0");  // transcoders load from SAELens 6.5.0 on
    CHECK(cfg["metadata"]["model_name"] == "stories260K");
    CHECK(cfg["metadata"]["hook_name"] == "blocks.1.ln2.hook_normalized");
    CHECK(cfg["metadata"]["hook_name_out"] == "blocks.1.hook_mlp_out");
    // Our own record of the student, under the keys of checkpoints and metrics.json (student_config's to_json).
    CHECK(cfg["metadata"]["sparse_distill"]["student"] == nlohmann::json(c));
    CHECK(cfg["metadata"]["sparse_distill"]["student"]["decoder_norm"] == "cap");
    const auto weights = sd::io::read_safetensors(tmp / "sae/sae_weights.safetensors");
    CHECK(weights.at("W_enc").type == (std::is_same_v<Scalar, float> ? sd::io::dtype::f32 : sd::io::dtype::f64));

    sd::io::write_student(tmp / "coder", sd::io::student_format::sparsify, c, w);
    const auto coder = read_json(tmp / "coder/cfg.json");
    CHECK(coder["activation"] == "topk");
    CHECK(coder["num_latents"] == 10);
    CHECK(coder["k"] == 10);  // every latent kept: sparsify's ReLU-then-TopK is the ReLU student
    CHECK(coder["transcode"] == true);
    CHECK(coder["skip_connection"] == false);
    CHECK(coder["multi_topk"] == false);
    CHECK(coder["d_in"] == 6);
}

TEST_CASE("student export: students a format cannot hold are refused with a message, and nothing is written") {
    sd_test::temp_dir tmp("sd_export");
    auto gelu = config(4, 6, 4);
    gelu.act = sd::activation::gelu;
    const auto w = random_weights<double>(gelu);
    for (const auto format : {sd::io::student_format::saelens, sd::io::student_format::sparsify}) {
        CAPTURE(sd::io::to_string(format));
        const std::string message = sd_test::thrown_message<sd::io::io_error>([&] { sd::io::write_student(tmp / "gelu", format, gelu, w); });
        CHECK(message.find((tmp / "gelu").string()) != std::string::npos);
        CHECK(message.find("gelu student cannot be written") != std::string::npos);
        CHECK(message.find("ReLU") != std::string::npos);
        CHECK_FALSE(fs::exists(tmp / "gelu"));
    }

    auto learned = config(4, 6, 4);
    learned.pre_bias = sd::pre_bias::learned;
    auto lw = random_weights<double>(learned);
    lw.b_pre = sd::vector<double>::Random(4);
    CHECK(sd_test::thrown_message<sd::io::io_error>([&] { sd::io::write_student(tmp / "pre", sd::io::student_format::saelens, learned, lw); })
              .find("learned pre-bias") != std::string::npos);

    const auto wide = config(4, 6, 5);
    const std::string message =
        sd_test::thrown_message<sd::io::io_error>([&] { sd::io::write_student(tmp / "wide", sd::io::student_format::sparsify, wide, random_weights<float>(wide)); });
    CHECK(message.find("d_out = d_in") != std::string::npos);
    CHECK(message.find("4 → 5") != std::string::npos);
    CHECK(sd::io::student_export_problem(wide, sd::io::student_format::saelens).empty());

    // Weights that disagree with the config are a caller's mistake, named before anything is written.
    auto bad = random_weights<float>(config(4, 6, 4));
    bad.w_dec.resize(6, 3);
    const std::string shape = sd_test::thrown_message<sd::io::io_error>([&] { sd::io::write_student(tmp / "bad", sd::io::student_format::saelens, config(4, 6, 4), bad); });
    CHECK(shape.find("student w_dec: expected [6, 4], found [6, 3]") != std::string::npos);
    CHECK(fs::is_empty(tmp.path));  // no temporary folder left behind either
}

TEST_CASE("student export: a student without biases is written with zero biases") {
    sd_test::temp_dir tmp("sd_export");
    auto c = config(3, 4, 2);
    c.biases = false;
    sd::student_weights<float> w;
    w.w_enc = sd::matrix<float>::Random(4, 3);
    w.w_dec = sd::matrix<float>::Random(4, 2);
    sd::io::write_student(tmp / "sae", sd::io::student_format::saelens, c, w);
    const auto back = sd::io::read_student<float>(tmp / "sae");
    CHECK(back.weights.w_enc == w.w_enc);
    CHECK(back.weights.b_enc == sd::vector<float>::Zero(4));
    CHECK(back.weights.b_dec == sd::vector<float>::Zero(2));
}

TEST_CASE("student export: writing into an existing folder replaces the two files and keeps the others") {
    sd_test::temp_dir tmp("sd_export");
    const auto c = config(3, 4, 3);
    fs::create_directories(tmp / "out");
    sd_test::write_file(tmp / "out/notes.txt", "mine");
    sd::io::write_student(tmp / "out", sd::io::student_format::saelens, c, random_weights<double>(c));
    const auto second = random_weights<double>(c);
    sd::io::write_student(tmp / "out", sd::io::student_format::saelens, c, second);
    check_bit_equal(second, sd::io::read_student<double>(tmp / "out").weights);
    CHECK(sd_test::read_file(tmp / "out/notes.txt") == "mine");
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(tmp.path)) ++entries;
    CHECK(entries == 1);  // the temporary folders are gone

    sd_test::write_file(tmp / "a_file", "x");
    CHECK(sd_test::thrown_message<sd::io::io_error>([&] { sd::io::write_student(tmp / "a_file", sd::io::student_format::saelens, c, second); })
              .find("a_file: folder: exists and is not a folder") != std::string::npos);
}

TEST_CASE("student import: files that are not students give errors naming the file and the field") {
    sd_test::temp_dir tmp("sd_export");
    const auto c = config(4, 6, 4);
    const auto w = random_weights<float>(c);
    sd::io::write_student(tmp / "sae", sd::io::student_format::saelens, c, w);
    sd::io::write_student(tmp / "coder", sd::io::student_format::sparsify, c, w);
    const auto sae_cfg = read_json(tmp / "sae/cfg.json");
    const auto coder_cfg = read_json(tmp / "coder/cfg.json");
    const std::string sae_cfg_path = (tmp / "sae/cfg.json").string();
    const std::string coder_cfg_path = (tmp / "coder/cfg.json").string();

    struct bad_case {
        const char* what;
        std::function<void()> corrupt;
        std::string expected;  // the message must contain it
    };
    const auto edit_sae = [&](const std::function<void(nlohmann::json&)>& change) {
        return [&, change] {
            auto j = sae_cfg;
            change(j);
            write_json(tmp / "sae/cfg.json", j);
        };
    };
    const auto edit_coder = [&](const std::function<void(nlohmann::json&)>& change) {
        return [&, change] {
            auto j = coder_cfg;
            change(j);
            write_json(tmp / "coder/cfg.json", j);
        };
    };
    const std::vector<bad_case> cases = {
        {"gated architecture", edit_sae([](auto& j) { j["architecture"] = "gated"; }),
         sae_cfg_path + ": architecture: expected one of standard, transcoder, skip_transcoder, topk, jumprelu or jumprelu_transcoder, "
                        "found \"gated\""},
        {"jumprelu without its thresholds", edit_sae([](auto& j) { j["architecture"] = "jumprelu_transcoder"; }),
         (tmp / "sae/sae_weights.safetensors").string() + ": tensor 'threshold'"},
        {"topk without k", edit_sae([](auto& j) { j["architecture"] = "topk"; j["apply_b_dec_to_input"] = false; }), sae_cfg_path + ": k: missing"},
        {"normalised activations", edit_sae([](auto& j) { j["normalize_activations"] = "layer_norm"; }),
         sae_cfg_path + ": normalize_activations: expected \"none\", found \"layer_norm\""},
        {"transcoder with b_dec on the input", edit_sae([](auto& j) { j["apply_b_dec_to_input"] = true; }),
         sae_cfg_path + ": apply_b_dec_to_input: expected false"},
        {"missing d_sae", edit_sae([](auto& j) { j.erase("d_sae"); }), sae_cfg_path + ": d_sae: missing"},
        {"negative d_in", edit_sae([](auto& j) { j["d_in"] = -4; }), sae_cfg_path + ": d_in: expected a non-negative integer, found -4"},
        {"d_sae disagreeing with the tensors", edit_sae([](auto& j) { j["d_sae"] = 8; }),
         (tmp / "sae/sae_weights.safetensors").string() + ": tensor 'W_enc': expected shape [d_in, d_sae] = [4, 8], found [4, 6]"},
        {"huge d_out", edit_sae([](auto& j) { j["d_out"] = 1000000000000000LL; }),
         "tensor 'W_dec': expected shape [d_sae, d_out] = [6, 1000000000000000], found [6, 4]"},
        {"malformed JSON", [&] { sd_test::write_file(tmp / "sae/cfg.json", "{\"d_in\": 4,"); }, sae_cfg_path + ": file: invalid JSON"},
        {"k = 0", edit_coder([](auto& j) { j["k"] = 0; }), coder_cfg_path + ": k: expected a positive k, found 0"},
        {"groupmax", edit_coder([](auto& j) { j["activation"] = "groupmax"; }), coder_cfg_path + ": activation: expected \"topk\""},
        {"skip connection without W_skip", edit_coder([](auto& j) { j["skip_connection"] = true; }),
         (tmp / "coder/sae.safetensors").string() + ": tensor 'W_skip'"},
        {"k as a string", edit_coder([](auto& j) { j["k"] = "all"; }), coder_cfg_path + ": k: expected a non-negative integer, found \"all\""},
    };
    for (const auto& c_ : cases) {
        const std::string what = c_.what;
        CAPTURE(what);
        write_json(tmp / "sae/cfg.json", sae_cfg);
        write_json(tmp / "coder/cfg.json", coder_cfg);
        c_.corrupt();
        const std::string folder = c_.expected.find((tmp / "coder").string()) != std::string::npos ? "coder" : "sae";
        const std::string message = sd_test::thrown_message<sd::io::io_error>([&] { sd::io::read_student<float>(tmp / folder); });
        CHECK_MESSAGE(message.find(c_.expected) != std::string::npos, message);
    }

    // A tensor the student has no place for (a JumpReLU threshold) would be dropped silently: refused.
    write_json(tmp / "sae/cfg.json", sae_cfg);
    auto file = sd::io::read_safetensors(tmp / "sae/sae_weights.safetensors");
    auto tensors = file.tensors;
    tensors.emplace("threshold", sd::io::from_values<float>({6}, sd::io::dtype::f32, std::vector<float>(6, 0.5f)));
    sd::io::write_safetensors(tmp / "sae/sae_weights.safetensors", tensors);
    CHECK(sd_test::thrown_message<sd::io::io_error>([&] { sd::io::read_student<float>(tmp / "sae"); })
              .find((tmp / "sae/sae_weights.safetensors").string() + ": tensor 'threshold': unexpected") != std::string::npos);

    fs::create_directories(tmp / "empty");
    CHECK(sd_test::thrown_message<sd::io::io_error>([&] { sd::io::read_student<float>(tmp / "empty"); })
              .find("empty: folder: expected sae_weights.safetensors (SAELens), sae.safetensors (sparsify) or student.safetensors (native)") != std::string::npos);
    CHECK(sd_test::thrown_message<sd::io::io_error>([&] { sd::io::read_student<float>(tmp / "missing"); }).find("missing: file: does not exist") != std::string::npos);
    fs::copy_file(tmp / "coder/sae.safetensors", tmp / "lone_coder.safetensors");
    CHECK(sd_test::thrown_message<sd::io::io_error>([&] { sd::io::read_student<float>(tmp / "lone_coder.safetensors"); })
              .find("lone_coder.safetensors: tensor 'encoder.weight': a sparsify coder needs its cfg.json") != std::string::npos);
}

TEST_CASE("student import (needs shared/data): the train_step reference's initial student") {
    SD_REQUIRE_SHARED_DATA("reference/train_step/student_init.safetensors");
    const auto path = sd_test::shared_data_dir() / "reference/train_step/student_init.safetensors";
    const auto s = sd::io::read_student<double>(path);
    CHECK(s.config.d_in == 16);
    CHECK(s.config.d_sae == 64);
    CHECK(s.config.d_out == 16);
    const auto direct = sd::io::student_weights_from_saelens<double>(sd::io::read_safetensors(path));
    check_bit_equal(direct, s.weights);
}

}  // namespace io_student_export_test
