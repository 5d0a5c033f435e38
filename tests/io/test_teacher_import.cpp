// Teacher import: the MLPs of real transformers checkpoints (GPT-2, GPT-Neo, Llama) reproduce the
// outputs `transformers` computed, in every naming scheme and with auto-detection; transformer_lens
// names written here from those weights; and errors for missing layers, tensors and wrong shapes.
#include "sparse_distill/io.hpp"
#include "sparse_distill/nn/teacher.hpp"
#include "sparse_distill/nn/teacher_gradient.hpp"
#include "support/shared_data.hpp"
#include "support/temp_files.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>
#include "support/thrown_message.hpp"

namespace sd = sparse_distill;
namespace io = sparse_distill::io;
namespace fs = std::filesystem;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace io_teacher_import_test {

fs::path reference(const std::string& model) { return sd_test::shared_data_dir() / "reference" / ("mlp_" + model); }

template <class Scalar>
sd::matrix<Scalar> load_matrix(const fs::path& path) {
    return io::to_matrix<Scalar>(io::read_npy(path), path.string());
}

template <class Scalar>
double relative_error(const sd::matrix<Scalar>& ours, const sd::matrix<Scalar>& ref) {
    REQUIRE(ours.rows() == ref.rows());
    REQUIRE(ours.cols() == ref.cols());
    return (ours.template cast<double>() - ref.template cast<double>()).norm() / ref.template cast<double>().norm();
}

// ‖teacher(mlp{L}_in) − mlp{L}_out‖ / ‖mlp{L}_out‖ for a reference model's layer.
double layer_error(const sd::mlp_weights<double>& w, const std::string& model, int layer) {
    const auto dir = reference(model);
    const auto x = load_matrix<double>(dir / ("mlp" + std::to_string(layer) + "_in.npy"));
    const auto y = load_matrix<double>(dir / ("mlp" + std::to_string(layer) + "_out.npy"));
    return relative_error(sd::mlp_reference_forward(w, x), y);
}

void check_fragments(const std::string& message, std::initializer_list<std::string> fragments) {
    INFO("message: " << message);
    for (const auto& fragment : fragments) CHECK(message.find(fragment) != std::string::npos);
}

// Writes `dir/model.safetensors` holding `renames` (new name → reference name) of a reference
// model's tensors; a renamed tensor may also be given directly in `extra`.
fs::path write_renamed(const fs::path& dir, const std::string& model, const std::map<std::string, std::string>& renames,
                       const std::map<std::string, io::tensor_data>& extra = {}) {
    const auto source = io::read_safetensors(reference(model) / "model.safetensors");
    std::map<std::string, io::tensor_data> tensors = extra;
    for (const auto& [to, from] : renames) tensors.emplace(to, source.at(from));
    const auto path = dir / "model.safetensors";
    io::write_safetensors(path, tensors);
    return path;
}

std::map<std::string, std::string> gpt_mlp_names(const std::string& to_root, const std::string& from_root = "transformer.h.") {
    std::map<std::string, std::string> names;
    for (const int layer : {0, 1})
        for (const char* tensor : {"c_fc.weight", "c_fc.bias", "c_proj.weight", "c_proj.bias"})
            names[to_root + std::to_string(layer) + ".mlp." + tensor] = from_root + std::to_string(layer) + ".mlp." + tensor;
    return names;
}

io::tensor_data transposed(const io::tensor_data& t) {
    const auto m = io::to_matrix<double>(t, "transposed");
    return io::from_matrix<double>(sd::matrix<double>(m.transpose()));
}


TEST_CASE("teacher format names parse, and unknown ones are rejected with the list") {
    CHECK(io::parse_teacher_format("auto") == io::teacher_format::automatic);
    CHECK(io::parse_teacher_format("transformer_lens") == io::teacher_format::transformer_lens);
    CHECK(io::parse_teacher_format("gpt2") == io::teacher_format::gpt2);
    CHECK(io::parse_teacher_format("gptneo") == io::teacher_format::gptneo);
    CHECK(io::parse_teacher_format("gpt_neo") == io::teacher_format::gptneo);
    CHECK(io::parse_teacher_format("llama") == io::teacher_format::llama);
    for (const auto format : {io::teacher_format::automatic, io::teacher_format::transformer_lens, io::teacher_format::gpt2,
                              io::teacher_format::gptneo, io::teacher_format::llama})
        CHECK(io::parse_teacher_format(io::to_string(format)) == format);
    std::string message;
    try {
        (void)io::parse_teacher_format("gpt3");
    } catch (const std::invalid_argument& e) {
        message = e.what();
    }
    check_fragments(message, {"'gpt3'", "auto, transformer_lens, gpt2, gptneo or llama"});
}

TEST_CASE("GPT-2, GPT-Neo and Llama teachers reproduce the reference MLP outputs in double") {
    SD_REQUIRE_SHARED_DATA("reference/mlp_llama/model.safetensors");
    struct expectation {
        std::string model;
        io::teacher_format format;
        sd::activation act;
        bool gated;
        sd::index_t d_mlp;
    };
    for (const auto& e : {expectation{"gpt2", io::teacher_format::gpt2, sd::activation::gelu_tanh, false, 128},
                          expectation{"gptneo", io::teacher_format::gptneo, sd::activation::gelu_tanh, false, 128},
                          expectation{"llama", io::teacher_format::llama, sd::activation::silu, true, 88}}) {
        for (const auto format : {e.format, io::teacher_format::automatic}) {
            for (const int layer : {0, 1}) {
                CAPTURE(e.model);
                CAPTURE(io::to_string(format));
                CAPTURE(layer);
                const auto w = io::import_teacher<double>(reference(e.model) / "model.safetensors", format, layer);
                CHECK(w.act == e.act);
                CHECK(w.gated() == e.gated);
                CHECK(w.d_model() == 32);
                CHECK(w.d_mlp() == e.d_mlp);
                CHECK((w.b_in.size() != 0) == !e.gated);
                const double error = layer_error(w, e.model, layer);
                MESSAGE(e.model << " layer " << layer << " relative error " << error);
                CHECK(error < 1e-12);
            }
        }
        const auto w = io::import_teacher<double>(reference(e.model), io::teacher_format::automatic, 1);
        const auto x = load_matrix<double>(reference(e.model) / "gauss_x.npy");
        const auto y = load_matrix<double>(reference(e.model) / "gauss_y_layer1.npy");
        CHECK(relative_error(sd::mlp_reference_forward(w, x), y) < 1e-12);
        // The library's teacher (the one training runs) computes the same.
        sd::teacher_mlp<double> teacher(w);
        CHECK(relative_error(teacher.forward(x), y) < 1e-12);
    }
}

TEST_CASE("float teachers reproduce the float32 reference outputs") {
    SD_REQUIRE_SHARED_DATA("reference/mlp_llama/gauss_y_layer1_f32.npy");
    for (const std::string model : {"gpt2", "gptneo", "llama"}) {
        CAPTURE(model);
        const auto w = io::import_teacher<float>(reference(model) / "model.safetensors", io::teacher_format::automatic, 1);
        const auto x = load_matrix<float>(reference(model) / "gauss_x_f32.npy");
        const auto y = load_matrix<float>(reference(model) / "gauss_y_layer1_f32.npy");
        sd::teacher_mlp<float> teacher(w);
        const double error = relative_error(teacher.forward(x), y);
        MESSAGE(model << " float32 layer 1 relative error " << error);
        CHECK(error < 1e-5);
    }
}

TEST_CASE("transformer_lens names from GPT-2 weights: blocks.L and bare names, activation from config.json") {
    SD_REQUIRE_SHARED_DATA("reference/mlp_gpt2/model.safetensors");
    sd_test::temp_dir dir("sd_test_tl");
    // GPT-2's Conv1D weights already have transformer_lens's orientation: W_in [d_model, d_mlp].
    std::map<std::string, std::string> renames;
    for (const int layer : {0, 1}) {
        const auto from = "transformer.h." + std::to_string(layer) + ".mlp.";
        const auto to = "blocks." + std::to_string(layer) + ".mlp.";
        renames[to + "W_in"] = from + "c_fc.weight";
        renames[to + "b_in"] = from + "c_fc.bias";
        renames[to + "W_out"] = from + "c_proj.weight";
        renames[to + "b_out"] = from + "c_proj.bias";
    }
    const auto path = write_renamed(dir.path, "gpt2", renames);

    // No config: transformer_lens's default, exact GELU, which is not what GPT-2 computes.
    const auto exact = io::import_teacher<double>(path, io::teacher_format::transformer_lens, 1);
    CHECK(exact.act == sd::activation::gelu);
    CHECK(layer_error(exact, "gpt2", 1) > 1e-6);

    sd_test::write_file(dir / "config.json", R"({"act_fn": "gelu_new", "d_model": 32})");
    for (const auto format : {io::teacher_format::transformer_lens, io::teacher_format::automatic}) {
        for (const int layer : {0, 1}) {
            CAPTURE(layer);
            const auto w = io::import_teacher<double>(path, format, layer);
            CHECK(w.act == sd::activation::gelu_tanh);
            CHECK(layer_error(w, "gpt2", layer) < 1e-12);
        }
    }
    // A Hugging Face config beside transformer_lens names is honoured too.
    sd_test::write_file(dir / "config.json", R"({"activation_function": "gelu_new"})");
    CHECK(io::import_teacher<double>(path, io::teacher_format::transformer_lens, 0).act == sd::activation::gelu_tanh);

    // Bare names: a single MLP, the layer argument is ignored.
    sd_test::temp_dir bare("sd_test_tl_bare");
    const auto bare_path = write_renamed(bare.path, "gpt2",
                                         {{"W_in", "transformer.h.1.mlp.c_fc.weight"}, {"b_in", "transformer.h.1.mlp.c_fc.bias"},
                                          {"W_out", "transformer.h.1.mlp.c_proj.weight"}, {"b_out", "transformer.h.1.mlp.c_proj.bias"}});
    sd_test::write_file(bare / "config.json", R"({"act_fn": "gelu_new"})");
    const auto w = io::import_teacher<double>(bare_path, io::teacher_format::automatic, 7);
    CHECK(layer_error(w, "gpt2", 1) < 1e-12);

    // The in-memory overload reads the same names (no config: exact GELU).
    const auto in_memory = io::import_teacher<double>(io::read_safetensors(path), io::teacher_format::automatic, 0);
    CHECK(in_memory.act == sd::activation::gelu);
    CHECK(in_memory.w_in == io::import_teacher<double>(path, io::teacher_format::transformer_lens, 0).w_in);
}

TEST_CASE("transformer_lens gated names (W_gate) from Llama weights") {
    SD_REQUIRE_SHARED_DATA("reference/mlp_llama/model.safetensors");
    sd_test::temp_dir dir("sd_test_tl_gated");
    const auto source = io::read_safetensors(reference("llama") / "model.safetensors");
    const std::string from = "model.layers.1.mlp.";
    std::map<std::string, io::tensor_data> tensors{
        {"blocks.1.mlp.W_gate", transposed(source.at(from + "gate_proj.weight"))},
        {"blocks.1.mlp.W_in", transposed(source.at(from + "up_proj.weight"))},
        {"blocks.1.mlp.W_out", transposed(source.at(from + "down_proj.weight"))},
        {"blocks.1.mlp.b_in", io::from_vector<double>(sd::vector<double>::Zero(88))},
        {"blocks.1.mlp.b_out", io::from_vector<double>(sd::vector<double>::Zero(32))},
    };
    io::write_safetensors(dir / "model.safetensors", tensors);
    const auto w = io::import_teacher<double>(dir / "model.safetensors", io::teacher_format::automatic, 1);
    CHECK(w.gated());
    CHECK(w.act == sd::activation::silu);
    CHECK(layer_error(w, "llama", 1) < 1e-12);

    tensors["blocks.1.mlp.b_in"] = io::from_vector<double>(sd::vector<double>::Constant(88, 0.5));
    io::write_safetensors(dir / "model.safetensors", tensors);
    check_fragments(sd_test::thrown_message<io::io_error>([&] { (void)io::import_teacher<double>(dir / "model.safetensors", io::teacher_format::automatic, 1); }),
                    {"model.safetensors: tensor 'blocks.1.mlp.b_in'", "non-zero b_in of a gated", "expected all zeros"});
}

TEST_CASE("auto-detection from MLP tensors alone, with and without the transformer./model. prefixes") {
    SD_REQUIRE_SHARED_DATA("reference/mlp_llama/model.safetensors");
    // Only the MLP tensors and no config: GPT-2 and GPT-Neo differ only in which extent of c_fc matches its bias.
    for (const std::string model : {"gpt2", "gptneo"}) {
        for (const std::string root : {"transformer.h.", "h."}) {
            CAPTURE(model);
            CAPTURE(root);
            sd_test::temp_dir dir("sd_test_detect");
            const auto path = write_renamed(dir.path, model, gpt_mlp_names(root));
            const auto w = io::import_teacher<double>(path, io::teacher_format::automatic, 1);
            CHECK(w.act == sd::activation::gelu_tanh);
            CHECK(layer_error(w, model, 1) < 1e-12);
        }
    }
    sd_test::temp_dir dir("sd_test_detect_llama");
    std::map<std::string, std::string> llama;
    for (const char* tensor : {"gate_proj.weight", "up_proj.weight", "down_proj.weight"})
        llama[std::string("layers.0.mlp.") + tensor] = std::string("model.layers.0.mlp.") + tensor;
    const auto path = write_renamed(dir.path, "llama", llama);
    const auto w = io::import_teacher<double>(path, io::teacher_format::automatic, 0);
    CHECK(w.gated());
    CHECK(layer_error(w, "llama", 0) < 1e-12);
    // The explicit format reads the same names.
    CHECK(io::import_teacher<double>(path, io::teacher_format::llama, 0).w_up == w.w_up);
}

TEST_CASE("teacher import errors name the file, the tensor and what was expected") {
    SD_REQUIRE_SHARED_DATA("reference/mlp_gpt2/model.safetensors");
    const auto gpt2 = reference("gpt2") / "model.safetensors";
    auto import = [](const fs::path& path, io::teacher_format format, int layer) {
        return sd_test::thrown_message<io::io_error>([&] { (void)io::import_teacher<double>(path, format, layer); });
    };

    SUBCASE("a layer the file does not have") {
        check_fragments(import(gpt2, io::teacher_format::automatic, 5),
                        {gpt2.string() + ": layer:", "layer 5 not found", "MLP layers 0, 1", "transformer.h.L.mlp.c_fc.weight"});
        check_fragments(import(reference("llama"), io::teacher_format::llama, 2), {"layer 2 not found", "0, 1", "model.layers.L"});
        check_fragments(import(gpt2, io::teacher_format::gpt2, -1), {"layer", "non-negative", "-1"});
    }
    SUBCASE("the wrong scheme for the file") {
        check_fragments(import(gpt2, io::teacher_format::llama, 0),
                        {"tensor 'model.layers.0.mlp.gate_proj.weight'", "missing", "Llama", "29 tensors"});
        check_fragments(import(gpt2, io::teacher_format::transformer_lens, 0), {"tensor 'blocks.0.mlp.W_in'", "missing"});
    }
    SUBCASE("GPT-Neo read as GPT-2: the transposed weights fit, the bias does not") {
        check_fragments(import(reference("gptneo") / "model.safetensors", io::teacher_format::gpt2, 0),
                        {"tensor 'transformer.h.0.mlp.c_fc.bias'", "expected shape [d_mlp] = [32]",
                         "(d_model = 128, d_mlp = 32 from 'transformer.h.0.mlp.c_fc.weight' [128, 32])", "found [128]",
                         "d_mlp 128 disagrees with 32"});
    }
    sd_test::temp_dir dir("sd_test_import_errors");
    SUBCASE("no known scheme") {
        const auto path = write_renamed(dir.path, "gpt2", {{"wte", "transformer.wte.weight"}});
        check_fragments(import(path, io::teacher_format::automatic, 0),
                        {"tensor names", "no MLP weights of a known naming scheme", "'wte'", "blocks.L.mlp.W_in"});
    }
    SUBCASE("a missing tensor") {
        auto names = gpt_mlp_names("transformer.h.");
        names.erase("transformer.h.1.mlp.c_proj.bias");
        const auto path = write_renamed(dir.path, "gpt2", names);
        check_fragments(import(path, io::teacher_format::gpt2, 1),
                        {"tensor 'transformer.h.1.mlp.c_proj.bias'", "missing; expected a tensor [d_model]",
                         "'transformer.h.1.mlp.c_fc.bias', 'transformer.h.1.mlp.c_fc.weight', 'transformer.h.1.mlp.c_proj.weight'"});
        CHECK_NOTHROW((void)io::import_teacher<double>(path, io::teacher_format::gpt2, 0));
    }
    SUBCASE("d_model disagreement between tensors") {
        auto names = gpt_mlp_names("transformer.h.");
        names.erase("transformer.h.0.mlp.c_proj.weight");
        const auto path = write_renamed(dir.path, "gpt2", names,
                                        {{"transformer.h.0.mlp.c_proj.weight", io::from_matrix<double>(sd::matrix<double>::Zero(128, 16))}});
        check_fragments(import(path, io::teacher_format::gpt2, 0),
                        {"tensor 'transformer.h.0.mlp.c_proj.weight'", "expected shape [d_mlp, d_model] = [128, 32]",
                         "found [128, 16]", "d_model 16 disagrees with 32"});
    }
    SUBCASE("a bias of the wrong length") {
        auto names = gpt_mlp_names("transformer.h.");
        names.erase("transformer.h.0.mlp.c_fc.bias");
        const auto path = write_renamed(dir.path, "gpt2", names,
                                        {{"transformer.h.0.mlp.c_fc.bias", io::from_vector<double>(sd::vector<double>::Zero(127))}});
        check_fragments(import(path, io::teacher_format::gpt2, 0),
                        {"tensor 'transformer.h.0.mlp.c_fc.bias'", "expected shape [d_mlp] = [128]", "found [127]", "d_mlp 127 disagrees with 128"});
    }
    SUBCASE("a 1-D first weight") {
        const auto path = write_renamed(dir.path, "gpt2", {}, {{"W_in", io::from_vector<double>(sd::vector<double>::Zero(4))}});
        check_fragments(import(path, io::teacher_format::automatic, 0),
                        {"tensor 'W_in'", "expected a non-empty 2-D tensor [d_model, d_mlp]", "found shape [4]"});
    }
    SUBCASE("a matrix where a vector belongs") {
        auto names = gpt_mlp_names("transformer.h.");
        names.erase("transformer.h.0.mlp.c_proj.bias");
        const auto path = write_renamed(dir.path, "gpt2", names,
                                        {{"transformer.h.0.mlp.c_proj.bias", io::from_matrix<double>(sd::matrix<double>::Zero(1, 32))}});
        check_fragments(import(path, io::teacher_format::gpt2, 0),
                        {"tensor 'transformer.h.0.mlp.c_proj.bias'", "expected shape [d_model] = [32]", "found [1, 32]"});
    }
    SUBCASE("a non-finite weight") {
        auto names = gpt_mlp_names("transformer.h.");
        names.erase("transformer.h.0.mlp.c_proj.weight");
        sd::matrix<double> bad = sd::matrix<double>::Zero(128, 32);
        bad(3, 5) = std::numeric_limits<double>::quiet_NaN();
        const auto path = write_renamed(dir.path, "gpt2", names, {{"transformer.h.0.mlp.c_proj.weight", io::from_matrix<double>(bad)}});
        check_fragments(import(path, io::teacher_format::gpt2, 0),
                        {"tensor 'transformer.h.0.mlp.c_proj.weight'", "expected finite weights", "nan", "[3, 5]"});
    }
    SUBCASE("GPT-2 or GPT-Neo undecidable for a square MLP") {
        std::map<std::string, io::tensor_data> square{
            {"h.0.mlp.c_fc.weight", io::from_matrix<double>(sd::matrix<double>::Zero(8, 8))},
            {"h.0.mlp.c_fc.bias", io::from_vector<double>(sd::vector<double>::Zero(8))},
            {"h.0.mlp.c_proj.weight", io::from_matrix<double>(sd::matrix<double>::Zero(8, 8))},
            {"h.0.mlp.c_proj.bias", io::from_vector<double>(sd::vector<double>::Zero(8))}};
        const auto path = write_renamed(dir.path, "gpt2", {}, square);
        check_fragments(import(path, io::teacher_format::automatic, 0),
                        {"tensor names", "could be GPT-2", "GPT-Neo", "pass the format explicitly"});
        CHECK_NOTHROW((void)io::import_teacher<double>(path, io::teacher_format::gptneo, 0));
        // The config's model_type settles it.
        sd_test::write_file(dir / "config.json", R"({"model_type": "gpt_neo"})");
        CHECK_NOTHROW((void)io::import_teacher<double>(path, io::teacher_format::automatic, 0));
    }
    SUBCASE("an unsupported activation or a broken config.json") {
        const auto path = write_renamed(dir.path, "gpt2", gpt_mlp_names("transformer.h."));
        sd_test::write_file(dir / "config.json", R"({"activation_function": "quick_gelu"})");
        check_fragments(import(path, io::teacher_format::gpt2, 0),
                        {(dir / "config.json").string() + ": activation_function:", "unsupported activation 'quick_gelu'"});
        sd_test::write_file(dir / "config.json", R"({"activation_function": 3})");
        check_fragments(import(path, io::teacher_format::gpt2, 0), {"config.json: activation_function:", "expected an activation name string, found 3"});
        sd_test::write_file(dir / "config.json", R"({"activation_function": )");
        check_fragments(import(path, io::teacher_format::gpt2, 0), {"config.json: file:", "invalid JSON"});
    }
    SUBCASE("a bias on Llama's up_proj") {
        std::map<std::string, std::string> names;
        for (const char* tensor : {"gate_proj.weight", "up_proj.weight", "down_proj.weight"})
            names[std::string("model.layers.0.mlp.") + tensor] = std::string("model.layers.0.mlp.") + tensor;
        const auto path = write_renamed(dir.path, "llama", names,
                                        {{"model.layers.0.mlp.up_proj.bias", io::from_vector<double>(sd::vector<double>::Zero(88))}});
        check_fragments(import(path, io::teacher_format::llama, 0), {"tensor 'model.layers.0.mlp.up_proj.bias'", "not supported"});
    }
    SUBCASE("a missing file") {
        check_fragments(import(dir / "absent.safetensors", io::teacher_format::automatic, 0), {"absent.safetensors: file: does not exist"});
    }
}

TEST_CASE("mlp_weights_from_transformer_lens names a mis-shaped tensor") {
    const std::map<std::string, io::tensor_data> tensors{
        {"W_in", io::from_matrix<double>(sd::matrix<double>::Zero(4, 6))},
        {"W_out", io::from_matrix<double>(sd::matrix<double>::Zero(6, 5))},
    };
    sd_test::temp_dir dir("sd_test_tl_shape");
    io::write_safetensors(dir / "teacher.safetensors", tensors);
    const auto file = io::read_safetensors(dir / "teacher.safetensors");
    check_fragments(sd_test::thrown_message<io::io_error>([&] { (void)io::mlp_weights_from_transformer_lens<double>(file, sd::activation::gelu); }),
                    {"teacher.safetensors: tensor 'W_out'", "expected shape [d_mlp, d_model] = [6, 4]", "found [6, 5]",
                     "d_model 5 disagrees with 4"});
}

}  // namespace io_teacher_import_test
