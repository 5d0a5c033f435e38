#pragma once
// Trained students in the folder layouts of the Python tools that load transcoders, and back:
//   SAELens v6: sae_weights.safetensors with W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_out],
//               b_dec [d_out], and cfg.json ("architecture": "transcoder", d_in, d_sae, d_out, dtype,
//               "apply_b_dec_to_input": false, "normalize_activations": "none",
//               "metadata": {"sae_lens_version": "6.0.0", ..., "sparse_distill": {"student": the
//               student_config as to_json writes it, the keys of checkpoints and metrics.json}});
//   sparsify:   sae.safetensors with encoder.weight [d_sae, d_in], encoder.bias [d_sae], W_dec
//               [d_sae, d_in], b_dec [d_in], and cfg.json (SparseCoderConfig fields and d_in);
//   native:     student.safetensors and cfg.json with the full student_config: every architecture
//               (GELU, TopK, BatchTopK with its τ, JumpReLU, skip, learned pre-bias), see detail/native_student.hpp.
// Both hold the student's weights exactly, in its own precision, so a round trip is bit for bit.
#include "../config.hpp"
#include "../detail/enum_names.hpp"
#include "../nn/student_config.hpp"
#include "../nn/student_weights.hpp"
#include "detail/folder_write.hpp"
#include "detail/json_config.hpp"
#include "detail/native_student.hpp"
#include "safetensors.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sparse_distill::io {

/// The folder layouts a student is written in and read from.
enum class student_format {
    /// SAELens ≥ 6 (`SAE.load_from_disk`): architecture "transcoder", or "standard" (an SAE with
    /// apply_b_dec_to_input) for a student whose input is centred by b_dec (pre_bias::tied_decoder).
    saelens,
    /// EleutherAI sparsify (`SparseCoder.load_from_disk`). Its coders apply ReLU and then keep the
    /// k largest latents (TopK); the export sets k = num_latents = d_sae, so every latent is kept and
    /// the coder computes exactly the student's ReLU. Retraining it in sparsify with a smaller k, or
    /// loading a coder trained with k < d_sae, is a different (TopK) model: read_student refuses that.
    /// sparsify also runs its forward pass under bfloat16 autocast on CUDA, which rounds the outputs;
    /// the stored weights are exact. Its decoder has the encoder's shape, so it needs d_out = d_in.
    sparsify,
    /// The project's own layout (detail/native_student.hpp): holds every student exactly.
    native,
};

inline constexpr auto student_format_names = sparse_distill::detail::make_enum_table<student_format>(
    "student format", {{student_format::saelens, "saelens"}, {student_format::sparsify, "sparsify"}, {student_format::native, "native"}});

constexpr std::string_view to_string(student_format format) { return student_format_names.name(format); }

/// "saelens", "sparsify" or "native"; throws std::invalid_argument otherwise.
inline student_format parse_student_format(std::string_view name) { return student_format_names.parse(name); }

/// Where the student sits in a model, recorded in SAELens' cfg.json metadata when given.
struct student_provenance {
    std::string model_name;     ///< metadata.model_name, e.g. "gpt2"
    std::string hook_name;      ///< metadata.hook_name, the input hook, e.g. "blocks.3.ln2.hook_normalized"
    std::string hook_name_out;  ///< metadata.hook_name_out, e.g. "blocks.3.hook_mlp_out"
    int context_size = 0;       ///< metadata.context_size: tokens per sequence it was trained on (0: not recorded)
};

/// A student as a file describes it. The config holds what the format states (d_in, d_sae, d_out,
/// activation, pre-bias); the training fields (init, decoder norm, ...) keep their defaults.
template <class Scalar>
struct stored_student {
    student_config config;
    student_weights<Scalar> weights;
    student_format format = student_format::saelens;
    double batch_threshold = 0;  ///< BatchTopK's τ (native files)
};

inline constexpr std::string_view saelens_weights_name = "sae_weights.safetensors";
inline constexpr std::string_view sparsify_weights_name = "sae.safetensors";
inline constexpr std::string_view student_config_name = "cfg.json";

/// Why `format` cannot hold a student of `config` exactly, or "" when it can. Both formats apply
/// ReLU and have no learned pre-bias; sparsify also needs d_out = d_in. A student without biases is
/// written with zero b_enc and b_dec (the same function) and reads back as one with biases.
inline std::string student_export_problem(const student_config& config, student_format format) {
    if (format == student_format::native) return {};
    const std::string where = format == student_format::saelens ? "SAELens" : "sparsify";
    const std::string native = " (--save-format native holds it)";
    if (config.act != activation::relu)
        return where + " coders apply ReLU: a " + std::string(to_string(config.act)) +
               " student cannot be written in that format without silently changing what it computes" + native;
    if (config.pre_bias == pre_bias::learned)
        return where + " coders have no learned pre-bias: a student computing x − b_pre before its encoder "
                       "(pre_bias learned) cannot be written in that format" + native;
    if (format == student_format::sparsify) {
        if (config.d_in != config.d_out)
            return "sparsify stores W_dec with the encoder's shape [d_sae, d_in] and b_dec [d_in], so it needs "
                   "d_out = d_in; this student maps " +
                   std::to_string(config.d_in) + " → " + std::to_string(config.d_out) + native;
        if (config.sparsity == sparsity_mode::batchtopk || config.sparsity == sparsity_mode::jumprelu)
            return "sparsify coders select the k largest latents and have no thresholds: a " +
                   std::string(to_string(config.sparsity)) + " student (sparsity) cannot be written in that format; SAELens can hold it";
        return {};
    }
    const bool tied = config.pre_bias == pre_bias::tied_decoder;
    if (config.skip && tied)
        return "SAELens transcoders (skip_transcoder) do not subtract b_dec from their input: a skip student with "
               "pre_bias tied_decoder cannot be written in that format" + native;
    if (config.skip && config.sparsity != sparsity_mode::l1)
        return "SAELens has no " + std::string(to_string(config.sparsity)) +
               " skip transcoder (its skip_transcoder applies ReLU): a " + std::string(to_string(config.sparsity)) +
               " student with W_skip (skip) is written by sparsify (topk) or the native format";
    if (config.sparsity == sparsity_mode::topk && config.d_in != config.d_out)
        return "SAELens has TopK SAEs but no TopK transcoder: a topk student (sparsity) needs d_out = d_in to be written "
               "as one; this student maps " + std::to_string(config.d_in) + " → " + std::to_string(config.d_out) + native;
    if (config.sparsity == sparsity_mode::jumprelu || config.sparsity == sparsity_mode::batchtopk) {
        if (tied && config.d_in != config.d_out)
            return "a JumpReLU SAE that subtracts b_dec from its input needs d_out = d_in" + native;
    }
    return {};
}

/// The SAELens architecture a student is written as (student_export_problem says it can be): a
/// BatchTopK student as the JumpReLU it is at inference, with θ = τ for every latent (as SAELens
/// saves its own BatchTopK SAEs).
inline std::string saelens_architecture(const student_config& c) {
    const bool tied = c.pre_bias == pre_bias::tied_decoder;
    switch (c.sparsity) {
        case sparsity_mode::l1: return c.skip ? "skip_transcoder" : tied ? "standard" : "transcoder";
        case sparsity_mode::topk: return "topk";
        case sparsity_mode::batchtopk:
        case sparsity_mode::jumprelu: return tied ? "jumprelu" : "jumprelu_transcoder";
    }
    return "transcoder";
}

namespace detail {

inline void check_student_weights(const std::filesystem::path& folder, const student_config& c,
                                  index_t enc_rows, index_t enc_cols, index_t dec_rows, index_t dec_cols,
                                  index_t b_enc, index_t b_dec, index_t b_pre) {
    const auto fail = [&](const std::string& field, const std::string& expected, const std::string& found) {
        throw io_error(folder, "student " + field, "expected " + expected + ", found " + found);
    };
    const auto pair = [](index_t a, index_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + "]"; };
    if (enc_rows != c.d_sae || enc_cols != c.d_in) fail("w_enc", pair(c.d_sae, c.d_in), pair(enc_rows, enc_cols));
    if (dec_rows != c.d_sae || dec_cols != c.d_out) fail("w_dec", pair(c.d_sae, c.d_out), pair(dec_rows, dec_cols));
    if (b_enc != 0 && b_enc != c.d_sae) fail("b_enc", std::to_string(c.d_sae) + " entries", std::to_string(b_enc));
    if (b_dec != 0 && b_dec != c.d_out) fail("b_dec", std::to_string(c.d_out) + " entries", std::to_string(b_dec));
    if (b_pre != 0) fail("b_pre", "none (the formats have no pre-bias)", std::to_string(b_pre) + " entries");
}

// A missing bias (a student without biases) is the zero vector of the same function.
template <class Scalar>
tensor_data bias_tensor(const vector<Scalar>& bias, index_t size) {
    return from_vector<Scalar>(bias.size() == 0 ? vector<Scalar>(vector<Scalar>::Zero(size)) : bias);
}

template <class Scalar>
constexpr std::string_view torch_dtype_name() {
    return std::is_same_v<Scalar, float> ? "float32" : "float64";
}

template <class Scalar>
void write_saelens_folder(const std::filesystem::path& dir, const student_config& c, const student_weights<Scalar>& w,
                          const student_provenance& provenance, double batch_threshold) {
    const bool tied = c.pre_bias == pre_bias::tied_decoder;
    const std::string architecture = saelens_architecture(c);
    std::map<std::string, tensor_data> tensors;
    tensors.emplace("W_enc", from_matrix<Scalar>(matrix<Scalar>(w.w_enc.transpose())));
    tensors.emplace("b_enc", bias_tensor(w.b_enc, c.d_sae));
    tensors.emplace("W_dec", from_matrix<Scalar>(w.w_dec));
    tensors.emplace("b_dec", bias_tensor(w.b_dec, c.d_out));
    // SAELens stores θ itself ("threshold"), and W_skip as [d_out, d_in] (it computes x·W_skipᵀ).
    if (c.sparsity == sparsity_mode::jumprelu)
        tensors.emplace("threshold", from_vector<Scalar>(vector<Scalar>(w.log_threshold.array().exp())));
    if (c.sparsity == sparsity_mode::batchtopk)
        tensors.emplace("threshold", from_vector<Scalar>(vector<Scalar>::Constant(c.d_sae, Scalar(batch_threshold))));
    if (c.skip) tensors.emplace("W_skip", from_matrix<Scalar>(matrix<Scalar>(w.w_skip.transpose())));

    // SAELens reads a cfg.json whose metadata.sae_lens_version is below 6 through its legacy path,
    // which renames keys and defaults apply_b_dec_to_input to true: the version must be there.
    // The transcoder architectures are read from SAELens 6.5.0 on.
    nlohmann::ordered_json metadata = {{"sae_lens_version", "6.5.0"},
                                       {"sae_lens_training_version", nullptr},
                                       {"exported_by", "sparse_distill " SD_VERSION_STRING}};
    if (!provenance.model_name.empty()) metadata["model_name"] = provenance.model_name;
    if (!provenance.hook_name.empty()) metadata["hook_name"] = provenance.hook_name;
    if (!provenance.hook_name_out.empty()) metadata["hook_name_out"] = provenance.hook_name_out;
    if (provenance.context_size > 0) metadata["context_size"] = provenance.context_size;
    // Our own record of the student, under the keys every other file of ours uses; SAELens keeps
    // metadata keys it does not know.
    metadata["sparse_distill"] = {{"student", c}};
    nlohmann::ordered_json cfg = {{"architecture", architecture}, {"d_in", c.d_in}, {"d_sae", c.d_sae}};
    const bool transcoder = architecture.find("transcoder") != std::string::npos;
    if (transcoder) cfg["d_out"] = c.d_out;
    if (c.sparsity == sparsity_mode::topk) {
        cfg["k"] = c.k;
        cfg["rescale_acts_by_decoder_norm"] = false;
    }
    cfg["dtype"] = torch_dtype_name<Scalar>();
    cfg["device"] = "cpu";
    cfg["apply_b_dec_to_input"] = tied;
    cfg["normalize_activations"] = "none";
    cfg["reshape_activations"] = "none";
    cfg["metadata"] = metadata;

    write_folder_atomically(dir, {std::string(saelens_weights_name), std::string(student_config_name)},
                            [&](const std::filesystem::path& folder) {
                                write_safetensors(folder / saelens_weights_name, tensors);
                                write_json_file(folder / student_config_name, cfg);
                            });
}

template <class Scalar>
void write_sparsify_folder(const std::filesystem::path& dir, const student_config& c, const student_weights<Scalar>& w) {
    std::map<std::string, tensor_data> tensors;
    tensors.emplace("encoder.weight", from_matrix<Scalar>(w.w_enc));
    tensors.emplace("encoder.bias", bias_tensor(w.b_enc, c.d_sae));
    tensors.emplace("W_dec", from_matrix<Scalar>(w.w_dec));
    tensors.emplace("b_dec", bias_tensor(w.b_dec, c.d_out));
    // sparsify computes x·W_skipᵀ: its W_skip is the transpose of ours.
    if (c.skip) tensors.emplace("W_skip", from_matrix<Scalar>(matrix<Scalar>(w.w_skip.transpose())));

    // A TopK student keeps its k; for a ReLU student k = num_latents keeps every latent after
    // sparsify's ReLU: the TopK coder is then the ReLU student.
    // transcode = false makes sparsify subtract b_dec from the input, which is pre_bias::tied_decoder.
    const nlohmann::ordered_json cfg = {{"activation", "topk"},
                                        {"expansion_factor", std::max<index_t>(1, c.d_sae / c.d_in)},
                                        {"normalize_decoder", c.decoder_norm == decoder_norm::unit},
                                        {"num_latents", c.d_sae},
                                        {"k", c.sparsity == sparsity_mode::topk ? c.k : c.d_sae},
                                        {"multi_topk", false},
                                        {"skip_connection", c.skip},
                                        {"transcode", c.pre_bias != pre_bias::tied_decoder},
                                        {"d_in", c.d_in}};
    write_folder_atomically(dir, {std::string(sparsify_weights_name), std::string(student_config_name)},
                            [&](const std::filesystem::path& folder) {
                                write_safetensors(folder / sparsify_weights_name, tensors);
                                write_json_file(folder / student_config_name, cfg);
                            });
}

// The tensor `name` as a matrix of `rows` × `cols` (a vector when cols < 0), with a message naming
// the file, the tensor and both shapes when it differs.
inline const tensor_data& expect_tensor(const safetensors_file& file, const std::string& name,
                                        std::vector<std::int64_t> shape, const std::string& meaning) {
    const tensor_data& tensor = file.at(name);
    if (tensor.type != dtype::f16 && tensor.type != dtype::bf16 && tensor.type != dtype::f32 && tensor.type != dtype::f64)
        throw io_error(file.path, "tensor '" + name + "'",
                       "expected floating-point weights, found dtype " + std::string(dtype_name(tensor.type)));
    if (tensor.shape != shape)
        throw io_error(file.path, "tensor '" + name + "'",
                       "expected shape " + meaning + " = " + shape_string(shape) + ", found " + shape_string(tensor.shape));
    return tensor;
}

template <class Scalar>
student_weights<Scalar> read_weights(const safetensors_file& file, const std::string& w_enc, bool enc_transposed,
                                     const std::string& b_enc, const std::string& w_dec, const std::string& b_dec,
                                     const student_config& c) {
    student_weights<Scalar> w;
    const auto what = [&](const std::string& name) { return file.path.string() + ": tensor '" + name + "'"; };
    if (enc_transposed)
        w.w_enc = to_matrix<Scalar>(expect_tensor(file, w_enc, {c.d_in, c.d_sae}, "[d_in, d_sae]"), what(w_enc)).transpose();
    else
        w.w_enc = to_matrix<Scalar>(expect_tensor(file, w_enc, {c.d_sae, c.d_in}, "[d_sae, d_in]"), what(w_enc));
    w.b_enc = to_vector<Scalar>(expect_tensor(file, b_enc, {c.d_sae}, "[d_sae]"), what(b_enc));
    w.w_dec = to_matrix<Scalar>(expect_tensor(file, w_dec, {c.d_sae, c.d_out}, "[d_sae, d_out]"), what(w_dec));
    w.b_dec = to_vector<Scalar>(expect_tensor(file, b_dec, {c.d_out}, "[d_out]"), what(b_dec));
    return w;
}

inline void refuse_extra_tensors(const safetensors_file& file, std::initializer_list<std::string_view> known,
                                 std::string_view why) {
    for (const auto& [name, tensor] : file.tensors) {
        bool listed = false;
        for (const auto k : known) listed = listed || name == k;
        if (!listed) throw io_error(file.path, "tensor '" + name + "'", "unexpected: " + std::string(why));
    }
}

inline index_t positive_size(const json_config& cfg, const std::string& key) {
    const auto value = cfg.count(key);
    if (value == 0) throw io_error(cfg.path(), key, "expected a positive size, found 0");
    return static_cast<index_t>(value);
}

template <class Scalar>
stored_student<Scalar> read_saelens_folder(const std::filesystem::path& dir) {
    const json_config cfg(dir / student_config_name);
    // Defaults as SAELens applies them to files that lack the key.
    const std::string architecture = cfg.string_or("architecture", "standard");
    const bool transcoder = architecture == "transcoder" || architecture == "skip_transcoder" || architecture == "jumprelu_transcoder";
    const bool jumprelu = architecture == "jumprelu" || architecture == "jumprelu_transcoder";
    if (!transcoder && architecture != "standard" && architecture != "topk" && architecture != "jumprelu")
        throw io_error(cfg.path(), "architecture",
                       "expected one of standard, transcoder, skip_transcoder, topk, jumprelu or jumprelu_transcoder, found \"" +
                           architecture + "\"");
    const bool tied = cfg.boolean_or("apply_b_dec_to_input", true);
    if (transcoder && tied)
        throw io_error(cfg.path(), "apply_b_dec_to_input", "expected false for a transcoder (d_out may differ from d_in), found true");
    const std::string normalize = cfg.string_or("normalize_activations", "none");
    if (normalize != "none")
        throw io_error(cfg.path(), "normalize_activations",
                       "expected \"none\", found \"" + normalize + "\" (a normalisation the student does not apply)");
    const std::string reshape = cfg.string_or("reshape_activations", "none");
    if (reshape != "none") throw io_error(cfg.path(), "reshape_activations", "expected \"none\", found \"" + reshape + "\"");
    for (const char* key : {"activation_fn", "activation_fn_str"}) {
        const std::string act = cfg.string_or(key, "relu");
        if (act != "relu") throw io_error(cfg.path(), key, "expected \"relu\", found \"" + act + "\"");
    }

    stored_student<Scalar> s;
    s.format = student_format::saelens;
    s.config.d_in = positive_size(cfg, "d_in");
    s.config.d_sae = positive_size(cfg, "d_sae");
    s.config.d_out = transcoder ? positive_size(cfg, "d_out") : s.config.d_in;
    s.config.act = activation::relu;
    s.config.pre_bias = tied ? pre_bias::tied_decoder : pre_bias::none;
    s.config.skip = architecture == "skip_transcoder";
    if (architecture == "topk") {
        s.config.sparsity = sparsity_mode::topk;
        s.config.k = static_cast<index_t>(positive_size(cfg, "k"));
        if (s.config.k > s.config.d_sae)
            throw io_error(cfg.path(), "k", "expected at most d_sae = " + std::to_string(s.config.d_sae) + ", found " + std::to_string(s.config.k));
    }
    if (jumprelu) s.config.sparsity = sparsity_mode::jumprelu;

    const safetensors_file file = read_safetensors(dir / saelens_weights_name);
    if (jumprelu)
        refuse_extra_tensors(file, {"W_enc", "b_enc", "W_dec", "b_dec", "threshold"}, "a JumpReLU coder has W_enc, b_enc, W_dec, b_dec and threshold");
    else if (s.config.skip)
        refuse_extra_tensors(file, {"W_enc", "b_enc", "W_dec", "b_dec", "W_skip"}, "a skip transcoder has W_enc, b_enc, W_dec, b_dec and W_skip");
    else
        refuse_extra_tensors(file, {"W_enc", "b_enc", "W_dec", "b_dec"},
                             "a " + architecture + " coder has only W_enc, b_enc, W_dec and b_dec (a threshold or skip weight would be dropped)");
    s.weights = read_weights<Scalar>(file, "W_enc", true, "b_enc", "W_dec", "b_dec", s.config);
    const auto what = [&](const std::string& name) { return file.path.string() + ": tensor '" + name + "'"; };
    if (architecture == "topk" && cfg.boolean_or("rescale_acts_by_decoder_norm", false)) {
        // SAELens folds the decoder norms into the weights when it saves, leaving unit rows, on which the
        // rescaling does nothing; other rows would change the function.
        const vector<double> norms = s.weights.w_dec.template cast<double>().rowwise().norm();
        if ((norms.array() - 1).abs().maxCoeff() > 1e-4)
            throw io_error(cfg.path(), "rescale_acts_by_decoder_norm",
                           "true with decoder rows of norm other than 1: the student does not rescale its activations");
    }
    if (jumprelu) {
        const vector<Scalar> threshold = to_vector<Scalar>(expect_tensor(file, "threshold", {s.config.d_sae}, "[d_sae]"), what("threshold"));
        if (!(threshold.array() > Scalar(0)).all())
            throw io_error(file.path, "tensor 'threshold'", "expected positive thresholds (the student trains log θ)");
        s.weights.log_threshold = threshold.array().log();
    }
    if (s.config.skip)
        s.weights.w_skip = to_matrix<Scalar>(expect_tensor(file, "W_skip", {s.config.d_out, s.config.d_in}, "[d_out, d_in]"), what("W_skip"))
                               .transpose();
    return s;
}

template <class Scalar>
stored_student<Scalar> read_sparsify_folder(const std::filesystem::path& dir) {
    const json_config cfg(dir / student_config_name);
    stored_student<Scalar> s;
    s.format = student_format::sparsify;
    s.config.d_in = positive_size(cfg, "d_in");
    const std::int64_t num_latents = cfg.count_or("num_latents", 0);
    if (num_latents > 0) {
        s.config.d_sae = static_cast<index_t>(num_latents);
    } else {
        const std::int64_t factor = positive_size(cfg, "expansion_factor");
        if (factor > std::numeric_limits<std::int64_t>::max() / s.config.d_in)
            throw io_error(cfg.path(), "expansion_factor", "d_in × expansion_factor overflows");
        s.config.d_sae = static_cast<index_t>(s.config.d_in * factor);
    }
    const std::string act = cfg.string_or("activation", "topk");
    if (act != "topk")
        throw io_error(cfg.path(), "activation", "expected \"topk\", found \"" + act + "\" (group max is not a student architecture)");
    const std::int64_t k = cfg.count("k");
    if (k <= 0) throw io_error(cfg.path(), "k", "expected a positive k, found 0");
    // k ≥ num_latents keeps every latent after the ReLU: the ReLU student; a smaller k is a TopK student.
    if (k < s.config.d_sae) {
        s.config.sparsity = sparsity_mode::topk;
        s.config.k = static_cast<index_t>(k);
    }
    s.config.skip = cfg.boolean_or("skip_connection", false);
    s.config.d_out = s.config.d_in;
    s.config.act = activation::relu;
    s.config.pre_bias = cfg.boolean_or("transcode", false) ? pre_bias::none : pre_bias::tied_decoder;

    const safetensors_file file = read_safetensors(dir / sparsify_weights_name);
    if (s.config.skip)
        refuse_extra_tensors(file, {"encoder.weight", "encoder.bias", "W_dec", "b_dec", "W_skip"},
                             "a sparse coder with a skip connection has encoder.weight, encoder.bias, W_dec, b_dec and W_skip");
    else
        refuse_extra_tensors(file, {"encoder.weight", "encoder.bias", "W_dec", "b_dec"},
                             "a sparse coder without skip connection has only encoder.weight, encoder.bias, W_dec and b_dec");
    s.weights = read_weights<Scalar>(file, "encoder.weight", false, "encoder.bias", "W_dec", "b_dec", s.config);
    if (s.config.skip)
        s.weights.w_skip = to_matrix<Scalar>(expect_tensor(file, "W_skip", {s.config.d_in, s.config.d_in}, "[d_in, d_in]"),
                                             file.path.string() + ": tensor 'W_skip'")
                               .transpose();
    return s;
}

// A lone safetensors file with SAELens names (as the reference data has): a ReLU transcoder whose
// sizes are the tensors' own.
template <class Scalar>
stored_student<Scalar> read_saelens_file(const std::filesystem::path& path) {
    const safetensors_file file = read_safetensors(path);
    if (!file.tensors.count("W_enc") && file.tensors.count("encoder.weight"))
        throw io_error(path, "tensor 'encoder.weight'",
                       "a sparsify coder needs its cfg.json (k, transcode): pass the folder holding sae.safetensors and cfg.json");
    const tensor_data& w_enc = file.at("W_enc");
    const tensor_data& w_dec = file.at("W_dec");
    if (w_enc.shape.size() != 2)
        throw io_error(path, "tensor 'W_enc'", "expected shape [d_in, d_sae], found " + shape_string(w_enc.shape));
    if (w_dec.shape.size() != 2)
        throw io_error(path, "tensor 'W_dec'", "expected shape [d_sae, d_out], found " + shape_string(w_dec.shape));
    stored_student<Scalar> s;
    s.format = student_format::saelens;
    s.config.d_in = w_enc.shape[0];
    s.config.d_sae = w_enc.shape[1];
    s.config.d_out = w_dec.shape[1];
    if (s.config.d_in == 0 || s.config.d_sae == 0 || s.config.d_out == 0)
        throw io_error(path, "tensor 'W_enc'", "expected positive sizes, found W_enc " + shape_string(w_enc.shape) +
                                                   " and W_dec " + shape_string(w_dec.shape));
    refuse_extra_tensors(file, {"W_enc", "b_enc", "W_dec", "b_dec", "log_threshold", "W_skip"},
                         "a transcoder file has W_enc, b_enc, W_dec, b_dec and optionally log_threshold and W_skip");
    s.weights = read_weights<Scalar>(file, "W_enc", true, "b_enc", "W_dec", "b_dec", s.config);
    const auto what = [&](const std::string& name) { return path.string() + ": tensor '" + name + "'"; };
    if (file.tensors.count("log_threshold")) {
        s.config.sparsity = sparsity_mode::jumprelu;
        s.weights.log_threshold =
            to_vector<Scalar>(expect_tensor(file, "log_threshold", {s.config.d_sae}, "[d_sae]"), what("log_threshold"));
    }
    if (file.tensors.count("W_skip")) {
        s.config.skip = true;
        s.weights.w_skip =
            to_matrix<Scalar>(expect_tensor(file, "W_skip", {s.config.d_in, s.config.d_out}, "[d_in, d_out]"), what("W_skip"));
    }
    return s;
}

template <class Scalar>
stored_student<Scalar> read_native_student(const std::filesystem::path& dir) {
    stored_student<Scalar> s;
    s.format = student_format::native;
    read_native_folder(dir, std::string(student_config_name), s.config, s.weights, s.batch_threshold);
    return s;
}

template <class Scalar>
void check_native_weights(const std::filesystem::path& dir, const student_config& c, const student_weights<Scalar>& w) {
    const auto fail = [&](const std::string& field, index_t rows, index_t cols, index_t want_rows, index_t want_cols) {
        throw io_error(dir, "student " + field,
                       "expected [" + std::to_string(want_rows) + ", " + std::to_string(want_cols) + "], found [" +
                           std::to_string(rows) + ", " + std::to_string(cols) + "]");
    };
    const auto expect = [&](const char* field, index_t rows, index_t cols, index_t want_rows, index_t want_cols) {
        if (rows != want_rows || cols != want_cols) fail(field, rows, cols, want_rows, want_cols);
    };
    expect("w_enc", w.w_enc.rows(), w.w_enc.cols(), c.d_sae, c.d_in);
    expect("w_dec", w.w_dec.rows(), w.w_dec.cols(), c.d_sae, c.d_out);
    expect("b_enc", w.b_enc.size(), 1, c.biases ? c.d_sae : 0, 1);
    expect("b_dec", w.b_dec.size(), 1, c.biases ? c.d_out : 0, 1);
    expect("b_pre", w.b_pre.size(), 1, c.pre_bias == pre_bias::learned ? c.d_in : 0, 1);
    expect("log_threshold", w.log_threshold.size(), 1, c.sparsity == sparsity_mode::jumprelu ? c.d_sae : 0, 1);
    expect("w_skip", w.w_skip.rows(), w.w_skip.cols(), c.skip ? c.d_in : 0, c.skip ? c.d_out : 0);
}

}  // namespace detail

/// Writes the student (`config`, `weights` in its own precision: f32 or f64 tensors) as a folder
/// `dir` in `format`. The folder appears complete or not at all: a missing `dir` is written next to
/// it and renamed into place; in an existing one, only the two files are replaced, each by rename
/// (weights first, then cfg.json), and other files are left alone. Throws io_error naming `dir` and
/// the reason when the format cannot hold the student (see student_export_problem) or a write fails.
template <class Scalar>
void write_student(const std::filesystem::path& dir, student_format format, const student_config& config,
                   const student_weights<Scalar>& weights, const student_provenance& provenance = {}, double batch_threshold = 0) {
    if (const std::string problem = student_export_problem(config, format); !problem.empty())
        throw io_error(dir, "student", problem);
    if (format == student_format::native) {
        detail::check_native_weights(dir, config, weights);
        detail::write_native_folder(dir, config, weights, batch_threshold, std::string(student_config_name));
        return;
    }
    detail::check_student_weights(dir, config, weights.w_enc.rows(), weights.w_enc.cols(), weights.w_dec.rows(),
                                  weights.w_dec.cols(), weights.b_enc.size(), weights.b_dec.size(), weights.b_pre.size());
    if (format == student_format::saelens)
        detail::write_saelens_folder(dir, config, weights, provenance, batch_threshold);
    else
        detail::write_sparsify_folder(dir, config, weights);
}

/// Checks, before any long work, that write_student(dir, ...) can write there: `dir` is not a file and
/// its parent exists or can be created and is writable. Throws io_error naming `dir` and the
/// system's reason, so a run fails at its start rather than after training.
inline void check_student_destination(const std::filesystem::path& dir) { detail::check_folder_writable(dir); }

namespace detail {

// read_student without the finite check.
template <class Scalar>
stored_student<Scalar> read_student_unchecked(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code error;
    if (!fs::exists(path, error)) throw io_error(path, "file", "does not exist");
    if (fs::is_directory(path, error)) {
        if (fs::exists(path / saelens_weights_name, error)) return detail::read_saelens_folder<Scalar>(path);
        if (fs::exists(path / sparsify_weights_name, error)) return detail::read_sparsify_folder<Scalar>(path);
        if (fs::exists(path / detail::native_weights_name, error)) return detail::read_native_student<Scalar>(path);
        throw io_error(path, "folder",
                       "expected " + std::string(saelens_weights_name) + " (SAELens), " + std::string(sparsify_weights_name) +
                           " (sparsify) or " + std::string(detail::native_weights_name) + " (native) in it, found none");
    }
    // A weights file inside its folder is read with the folder's cfg.json.
    const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    if (fs::exists(parent / student_config_name, error)) {
        if (path.filename() == saelens_weights_name) return detail::read_saelens_folder<Scalar>(parent);
        if (path.filename() == sparsify_weights_name) return detail::read_sparsify_folder<Scalar>(parent);
        if (path.filename() == detail::native_weights_name) return detail::read_native_student<Scalar>(parent);
    }
    return read_saelens_file<Scalar>(path);
}

/// Refuses weights that are not finite (NaN or Inf in the file, or a value beyond Scalar's range):
/// a run would otherwise start and fail at its first step without naming the file.
template <class Scalar>
void require_finite_weights(const std::filesystem::path& path, const student_weights<Scalar>& w) {
    // cols = 0 for a vector: its index alone is printed.
    const auto check = [&](const char* name, const Scalar* values, index_t count, index_t cols) {
        for (index_t i = 0; i < count; ++i)
            if (!std::isfinite(values[i]))
                throw io_error(path, std::string("weights ") + name,
                               std::string(std::isnan(values[i]) ? "NaN" : "Inf") + " at [" +
                                   (cols > 0 ? std::to_string(i / cols) + ", " + std::to_string(i % cols) : std::to_string(i)) +
                                   "] (" + (sizeof(Scalar) == 4 ? "as f32" : "as f64") +
                                   "): a student must start from finite weights");
    };
    check("W_enc [d_sae, d_in]", w.w_enc.data(), w.w_enc.size(), w.w_enc.cols());
    check("b_enc", w.b_enc.data(), w.b_enc.size(), 0);
    check("W_dec [d_sae, d_out]", w.w_dec.data(), w.w_dec.size(), w.w_dec.cols());
    check("b_dec", w.b_dec.data(), w.b_dec.size(), 0);
    check("b_pre", w.b_pre.data(), w.b_pre.size(), 0);
    check("log_threshold", w.log_threshold.data(), w.log_threshold.size(), 0);
    check("W_skip [d_in, d_out]", w.w_skip.data(), w.w_skip.size(), w.w_skip.cols());
}

}  // namespace detail

/// Reads a student written by write_student, SAELens or sparsify: a folder holding cfg.json and
/// sae_weights.safetensors (SAELens) or sae.safetensors (sparsify), or a lone safetensors file with
/// SAELens names (W_enc, b_enc, W_dec, b_dec, and log_threshold / W_skip). Weights are converted to
/// Scalar. SAELens transcoder, skip_transcoder, topk and jumprelu(_transcoder) folders and sparsify
/// TopK coders (with or without skip connection) read as the student they are; anything a student
/// cannot compute (activation normalisation, group max, non-positive thresholds, extra tensors, shapes
/// that disagree with cfg.json, weights that are NaN or Inf) throws io_error naming the file and the field.
template <class Scalar>
stored_student<Scalar> read_student(const std::filesystem::path& path) {
    stored_student<Scalar> student = detail::read_student_unchecked<Scalar>(path);
    detail::require_finite_weights(path, student.weights);
    return student;
}

}  // namespace sparse_distill::io
