#pragma once
// The project's own student folder, which holds every architecture exactly:
//   student.safetensors  W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_out], b_dec [d_out]
//                        (SAELens' names and orientation; the biases only with biases = true),
//                        b_pre [d_in] (pre_bias learned), log_threshold [d_sae] (jumprelu),
//                        W_skip [d_in, d_out] (skip: ŷ += x·W_skip)
//   cfg.json             {"format": "sparse_distill student", "format_version": 1,
//                         "student": the student_config as to_json writes it,
//                         "batch_threshold": BatchTopK's τ, "exported_by": "sparse_distill <version>"}
#include "../../detail/internal_header_check.hpp"
#include "../../nn/student_config.hpp"
#include "../../nn/student_weights.hpp"
#include "../error.hpp"
#include "../safetensors.hpp"
#include "file_io.hpp"
#include "folder_write.hpp"
#include "json_config.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sparse_distill::io::detail {

inline constexpr std::string_view native_weights_name = "student.safetensors";
inline constexpr std::string_view native_format_name = "sparse_distill student";
inline constexpr int native_format_version = 1;

/// The tensors a student of `c` has in the native file, with their shapes.
inline std::vector<std::pair<std::string, std::vector<std::int64_t>>> native_tensor_shapes(const student_config& c) {
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> shapes{{"W_enc", {c.d_in, c.d_sae}}, {"W_dec", {c.d_sae, c.d_out}}};
    if (c.biases) {
        shapes.push_back({"b_enc", {c.d_sae}});
        shapes.push_back({"b_dec", {c.d_out}});
    }
    if (c.pre_bias == pre_bias::learned) shapes.push_back({"b_pre", {c.d_in}});
    if (c.sparsity == sparsity_mode::jumprelu) shapes.push_back({"log_threshold", {c.d_sae}});
    if (c.skip) shapes.push_back({"W_skip", {c.d_in, c.d_out}});
    return shapes;
}

/// Writes `json` (indented, a newline at the end) to `path` by rename.
inline void write_json_file(const std::filesystem::path& path, const nlohmann::ordered_json& json) {
    const std::string text = json.dump(2) + "\n";
    const std::span<const std::byte> pieces[] = {std::as_bytes(std::span(text.data(), text.size()))};
    write_atomically(path, pieces);
}

template <class Scalar>
void write_native_folder(const std::filesystem::path& dir, const student_config& c, const student_weights<Scalar>& w,
                         double batch_threshold, const std::string& cfg_name) {
    std::map<std::string, tensor_data> tensors;
    tensors.emplace("W_enc", from_matrix<Scalar>(matrix<Scalar>(w.w_enc.transpose())));
    tensors.emplace("W_dec", from_matrix<Scalar>(w.w_dec));
    if (c.biases) {
        tensors.emplace("b_enc", from_vector<Scalar>(w.b_enc));
        tensors.emplace("b_dec", from_vector<Scalar>(w.b_dec));
    }
    if (c.pre_bias == pre_bias::learned) tensors.emplace("b_pre", from_vector<Scalar>(w.b_pre));
    if (c.sparsity == sparsity_mode::jumprelu) tensors.emplace("log_threshold", from_vector<Scalar>(w.log_threshold));
    if (c.skip) tensors.emplace("W_skip", from_matrix<Scalar>(w.w_skip));
    const nlohmann::ordered_json cfg = {{"format", native_format_name},
                                        {"format_version", native_format_version},
                                        {"student", nlohmann::json(c)},
                                        {"batch_threshold", batch_threshold},
                                        {"exported_by", "sparse_distill " SD_VERSION_STRING}};
    write_folder_atomically(dir, {std::string(native_weights_name), cfg_name}, [&](const std::filesystem::path& folder) {
        write_safetensors(folder / native_weights_name, tensors);
        write_json_file(folder / cfg_name, cfg);
    });
}

/// The config and weights of a native folder; every error names the file and the field.
template <class Scalar>
void read_native_folder(const std::filesystem::path& dir, const std::string& cfg_name, student_config& config,
                        student_weights<Scalar>& w, double& batch_threshold) {
    const json_config cfg(dir / cfg_name);
    if (cfg.string("format") != native_format_name)
        throw io_error(cfg.path(), "format", "expected \"" + std::string(native_format_name) + "\", found \"" + cfg.string("format") + "\"");
    if (cfg.count("format_version") != native_format_version)
        throw io_error(cfg.path(), "format_version",
                       "expected " + std::to_string(native_format_version) + ", found " + std::to_string(cfg.count("format_version")));
    if (!cfg.json().contains("student")) throw io_error(cfg.path(), "student", "missing");
    try {
        config = cfg.json().at("student").get<student_config>();
        config.validate();
    } catch (const std::invalid_argument& e) {
        throw io_error(cfg.path(), "student", e.what());
    }
    batch_threshold = 0;
    if (cfg.json().contains("batch_threshold")) {
        const nlohmann::json& tau = cfg.json().at("batch_threshold");
        if (!tau.is_number() || !(tau.get<double>() >= 0) || !std::isfinite(tau.get<double>()))
            throw io_error(cfg.path(), "batch_threshold", "expected a finite non-negative number, found " + tau.dump());
        batch_threshold = tau.get<double>();
    }

    const safetensors_file file = read_safetensors(dir / native_weights_name);
    const auto shapes = native_tensor_shapes(config);
    for (const auto& [name, tensor] : file.tensors) {
        bool expected = false;
        for (const auto& [known, shape] : shapes) expected = expected || known == name;
        if (!expected)
            throw io_error(file.path, "tensor '" + name + "'", "unexpected for the student that " + cfg.path().string() + " describes");
    }
    for (const auto& [name, shape] : shapes) {
        if (!file.tensors.count(name))
            throw io_error(file.path, "tensor '" + name + "'", "missing: the student in " + cfg.path().string() + " has one");
        if (file.at(name).shape != shape)
            throw io_error(file.path, "tensor '" + name + "'",
                           "expected shape " + shape_string(shape) + ", found " + shape_string(file.at(name).shape));
    }
    const auto what = [&](const char* name) { return file.path.string() + ": tensor '" + name + "'"; };
    w = {};
    w.w_enc = to_matrix<Scalar>(file.at("W_enc"), what("W_enc")).transpose();
    w.w_dec = to_matrix<Scalar>(file.at("W_dec"), what("W_dec"));
    if (config.biases) {
        w.b_enc = to_vector<Scalar>(file.at("b_enc"), what("b_enc"));
        w.b_dec = to_vector<Scalar>(file.at("b_dec"), what("b_dec"));
    }
    if (config.pre_bias == pre_bias::learned) w.b_pre = to_vector<Scalar>(file.at("b_pre"), what("b_pre"));
    if (config.sparsity == sparsity_mode::jumprelu) w.log_threshold = to_vector<Scalar>(file.at("log_threshold"), what("log_threshold"));
    if (config.skip) w.w_skip = to_matrix<Scalar>(file.at("W_skip"), what("W_skip"));
}

}  // namespace sparse_distill::io::detail
