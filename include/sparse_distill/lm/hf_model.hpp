#pragma once
// Hugging Face model folders: config.json plus model.safetensors, or model.safetensors.index.json
// and the shards it names, read into the decoder's layout for GPT2LMHeadModel, GPTNeoForCausalLM
// and LlamaForCausalLM (also MistralForCausalLM and the checkpoints that reuse Llama's layout:
// TinyLlama, SmolLM). Weights of any float dtype (F64, F32, F16, BF16) are converted to Scalar.
//
//   family   tensors per layer L (prefix "transformer." / "model." optional)       orientation
//   gpt2     h.L.ln_1, h.L.attn.c_attn [dim, 3·dim] (q|k|v), h.L.attn.c_proj,       Conv1D [in, out]
//            h.L.ln_2, h.L.mlp.c_fc, h.L.mlp.c_proj; wte, wpe, ln_f
//   gpt_neo  h.L.attn.attention.{q,k,v}_proj (no bias), out_proj (bias),            Linear [out, in]
//            the rest as gpt2
//   llama    layers.L.input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_   Linear [out, in]
//            layernorm, mlp.{gate,up,down}_proj; embed_tokens, norm
// lm_head.weight when present, else the token embedding (tie_word_embeddings).
#include "../config.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/io/detail/json_config.hpp"
#include "sparse_distill/io/detail/safetensors_header.hpp"
#include "sparse_distill/io/detail/shape.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/safetensors.hpp"
#include "sparse_distill/io/tensor_data.hpp"
#include "sparse_distill/lm/decoder_config.hpp"
#include "sparse_distill/lm/decoder_weights.hpp"
#include "sparse_distill/nn/activation.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace sparse_distill::lm {

namespace detail {

inline bool is_file(const std::filesystem::path& p) {
    std::error_code error;
    return std::filesystem::is_regular_file(p, error);
}

// The activation a config names (transformers' spellings), or io_error naming the key.
inline activation hf_activation(const io::detail::json_config& json, const std::string& key, const std::string& fallback) {
    const std::string name = json.string_or(key, fallback);
    if (name == "gelu_fast") return activation::gelu_tanh;  // the same tanh approximation, written differently
    try {
        return parse_activation(name);
    } catch (const std::invalid_argument&) {
        throw io::io_error(json.path(), key, "unsupported activation '" + io::detail::name_excerpt(name) +
                                                 "'; expected relu, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast or silu");
    }
}

inline int hf_size(const io::detail::json_config& json, const std::string& key) {
    const auto value = json.count(key);
    if (value < 1 || value > (1 << 30)) throw io::io_error(json.path(), key, "expected a positive size, found " + std::to_string(value));
    return static_cast<int>(value);
}

inline int hf_size_or(const io::detail::json_config& json, const std::string& key, int fallback) {
    return json.has(key) ? hf_size(json, key) : fallback;
}

// "architectures" is null in configs written by a bare model class; when set, each must be one we run.
inline void check_architectures(const io::detail::json_config& json, model_family family) {
    if (!json.has("architectures")) return;
    const auto& list = json.json().at("architectures");
    if (!list.is_array()) throw io::io_error(json.path(), "architectures", "expected a list of class names, found " + io::detail::json_excerpt(list));
    const std::set<std::string> known = family == model_family::gpt2      ? std::set<std::string>{"GPT2LMHeadModel", "GPT2Model"}
                                        : family == model_family::gpt_neo ? std::set<std::string>{"GPTNeoForCausalLM", "GPTNeoModel"}
                                                                          : std::set<std::string>{"LlamaForCausalLM", "LlamaModel",
                                                                                                  "MistralForCausalLM", "MistralModel"};
    for (const auto& entry : list) {
        if (!entry.is_string() || known.count(entry.get<std::string>()) == 0)
            throw io::io_error(json.path(), "architectures",
                               "unsupported architecture " + io::detail::json_excerpt(entry) + " for model_type '" +
                                   std::string(to_string(family)) + "'; supported: GPT2LMHeadModel, GPTNeoForCausalLM, "
                                   "LlamaForCausalLM, MistralForCausalLM");
    }
}

inline void refuse_key(const io::detail::json_config& json, const std::string& key, const std::string& why) {
    if (json.has(key)) throw io::io_error(json.path(), key, why);
}

// RoPE settings of a Llama-family config: theta from rope_theta or rope_parameters.rope_theta
// (transformers 5), and only the default rope_type (scaled variants change the angles).
inline double llama_rope_theta(const io::detail::json_config& json) {
    double theta = json.number_or("rope_theta", 10000.0);
    for (const char* key : {"rope_scaling", "rope_parameters"}) {
        if (!json.has(key)) continue;
        const auto& object = json.json().at(key);
        if (!object.is_object()) throw io::io_error(json.path(), key, "expected an object, found " + io::detail::json_excerpt(object));
        for (const char* type_key : {"rope_type", "type"})
            if (object.contains(type_key) && !object.at(type_key).is_null() &&
                object.at(type_key) != nlohmann::json("default"))
                throw io::io_error(json.path(), std::string(key) + "." + type_key,
                                   "RoPE scaling " + io::detail::json_excerpt(object.at(type_key)) +
                                       " is not supported; expected \"default\" (plain rotary angles)");
        if (object.contains("rope_theta")) {
            const auto& value = object.at("rope_theta");
            if (!value.is_number() || !(value.get<double>() > 0))
                throw io::io_error(json.path(), std::string(key) + ".rope_theta", "expected a positive number, found " + io::detail::json_excerpt(value));
            theta = value.get<double>();
        }
    }
    return theta;
}

// What GPT-2 and GPT-Neo share, read under each family's key names: sizes (heads divide the width;
// the MLP is 4× wide unless set), LayerNorm, learned positions, an ungated GELU MLP, tied embeddings.
struct gpt_keys {
    const char *width, *layers, *heads, *inner, *positions;
};

inline decoder_config gpt_family_config(const io::detail::json_config& json, model_family family, const gpt_keys& keys) {
    decoder_config c;
    c.family = family;
    c.dim = hf_size(json, keys.width);
    c.n_layers = hf_size(json, keys.layers);
    c.n_heads = c.n_kv_heads = hf_size(json, keys.heads);
    if (c.dim % c.n_heads != 0)
        throw io::io_error(json.path(), keys.heads, "expected a divisor of " + std::string(keys.width) + " = " + std::to_string(c.dim) +
                                                        ", found " + std::to_string(c.n_heads));
    c.head_dim = c.dim / c.n_heads;
    c.hidden_dim = hf_size_or(json, keys.inner, 4 * c.dim);
    c.vocab_size = hf_size(json, "vocab_size");
    c.seq_len = hf_size(json, keys.positions);
    c.norm = norm_kind::layer_norm;
    c.norm_eps = json.number_or("layer_norm_epsilon", 1e-5);
    c.mlp_activation = hf_activation(json, "activation_function", "gelu_new");
    c.gated_mlp = false;
    c.learned_positions = true;
    c.rope = rope_pairing::none;
    c.tied_embeddings = json.boolean_or("tie_word_embeddings", true);
    return c;
}

inline decoder_config gpt2_config(const io::detail::json_config& json) {
    decoder_config c = gpt_family_config(json, model_family::gpt2, {"n_embd", "n_layer", "n_head", "n_inner", "n_positions"});
    c.scale_attention = json.boolean_or("scale_attn_weights", true);
    c.scale_attention_by_layer = json.boolean_or("scale_attn_by_inverse_layer_idx", false);
    if (json.boolean_or("add_cross_attention", false))
        throw io::io_error(json.path(), "add_cross_attention", "cross-attention (an encoder-decoder GPT-2) is not supported; expected false");
    c.attention_window.assign(static_cast<std::size_t>(c.n_layers), 0);
    return c;
}

inline decoder_config gpt_neo_config(const io::detail::json_config& json) {
    decoder_config c =
        gpt_family_config(json, model_family::gpt_neo, {"hidden_size", "num_layers", "num_heads", "intermediate_size", "max_position_embeddings"});
    c.scale_attention = false;  // GPT-Neo's attention scores are q·k, unscaled
    const int window = hf_size_or(json, "window_size", 256);
    // attention_layers lists each layer's kind; configs also carry it compressed as attention_types
    // [[["global", "local"], repeats]], which transformers expands into attention_layers.
    std::vector<std::string> kinds;
    if (json.has("attention_layers")) {
        const auto& list = json.json().at("attention_layers");
        if (!list.is_array()) throw io::io_error(json.path(), "attention_layers", "expected a list of \"global\"/\"local\"");
        for (const auto& kind : list) kinds.push_back(kind.is_string() ? kind.get<std::string>() : kind.dump());
    } else if (json.has("attention_types")) {
        const auto& list = json.json().at("attention_types");
        const auto bad = [&] { return io::io_error(json.path(), "attention_types", "expected [[[\"global\", \"local\", …], repeats], …], found " + io::detail::json_excerpt(list)); };
        if (!list.is_array()) throw bad();
        for (const auto& item : list) {
            if (!item.is_array() || item.size() != 2 || !item[0].is_array() || !item[1].is_number_unsigned()) throw bad();
            for (std::uint64_t r = 0; r < item[1].get<std::uint64_t>() && kinds.size() <= static_cast<std::size_t>(c.n_layers); ++r)
                for (const auto& kind : item[0]) kinds.push_back(kind.is_string() ? kind.get<std::string>() : kind.dump());
        }
    } else {
        throw io::io_error(json.path(), "attention_layers", "missing: GPT-Neo needs each layer's attention kind (global or local)");
    }
    if (kinds.size() != static_cast<std::size_t>(c.n_layers))
        throw io::io_error(json.path(), "attention_layers", "expected one entry per layer (num_layers = " + std::to_string(c.n_layers) +
                                                                "), found " + std::to_string(kinds.size()));
    for (std::size_t l = 0; l < kinds.size(); ++l) {
        if (kinds[l] != "global" && kinds[l] != "local")
            throw io::io_error(json.path(), "attention_layers[" + std::to_string(l) + "]",
                               "expected \"global\" or \"local\", found " + io::detail::name_excerpt(kinds[l]));
        c.attention_window.push_back(kinds[l] == "local" ? window : 0);
    }
    return c;
}

inline decoder_config llama_config_of(const io::detail::json_config& json, bool mistral) {
    decoder_config c;
    c.family = model_family::llama;
    c.dim = hf_size(json, "hidden_size");
    c.hidden_dim = hf_size(json, "intermediate_size");
    c.n_layers = hf_size(json, "num_hidden_layers");
    c.n_heads = hf_size(json, "num_attention_heads");
    c.n_kv_heads = hf_size_or(json, "num_key_value_heads", c.n_heads);
    if (c.n_heads % c.n_kv_heads != 0)
        throw io::io_error(json.path(), "num_key_value_heads", "expected a divisor of num_attention_heads = " + std::to_string(c.n_heads) +
                                                                   ", found " + std::to_string(c.n_kv_heads));
    if (!json.has("head_dim") && c.dim % c.n_heads != 0)
        throw io::io_error(json.path(), "num_attention_heads", "expected a divisor of hidden_size = " + std::to_string(c.dim) + " (or a head_dim entry)");
    c.head_dim = hf_size_or(json, "head_dim", c.dim / c.n_heads);
    c.vocab_size = hf_size(json, "vocab_size");
    c.seq_len = hf_size(json, "max_position_embeddings");
    c.norm = norm_kind::rms_norm;
    c.norm_eps = json.number_or("rms_norm_eps", 1e-6);
    c.norm_in_float32 = true;
    c.mlp_activation = hf_activation(json, "hidden_act", "silu");
    c.gated_mlp = true;
    c.learned_positions = false;
    c.rope = rope_pairing::halves;
    c.rope_theta = llama_rope_theta(json);
    refuse_key(json, "partial_rotary_factor", "partial rotary embeddings are not supported");
    const int window = mistral && json.has("sliding_window") ? hf_size(json, "sliding_window") : 0;
    c.attention_window.assign(static_cast<std::size_t>(c.n_layers), window);
    c.tied_embeddings = json.boolean_or("tie_word_embeddings", false);
    return c;
}

}  // namespace detail

/// The decoder config of a Hugging Face model folder's config.json. The family comes from
/// model_type (gpt2, gpt_neo, llama, mistral); `architectures`, when set, must name a class of that
/// family. Unknown families and settings the forward pass does not implement (scaled RoPE, cross
/// attention, attention kinds other than global/local) throw io_error naming config.json and the key.
inline decoder_config read_hf_config(const std::filesystem::path& folder) {
    const auto path = folder / "config.json";
    if (!detail::is_file(path))
        throw io::io_error(path, "file", "not found: a Hugging Face model folder holds config.json beside model.safetensors");
    const io::detail::json_config json(path);
    const std::string type = json.string("model_type");
    decoder_config c;
    if (type == "gpt2") c = detail::gpt2_config(json);
    else if (type == "gpt_neo") c = detail::gpt_neo_config(json);
    else if (type == "llama" || type == "mistral") c = detail::llama_config_of(json, type == "mistral");
    else
        throw io::io_error(path, "model_type", "unsupported model type '" + io::detail::name_excerpt(type) +
                                                   "'; supported: gpt2, gpt_neo, llama, mistral (GPT2LMHeadModel, "
                                                   "GPTNeoForCausalLM, LlamaForCausalLM, MistralForCausalLM)");
    detail::check_architectures(json, c.family);
    c.name = json.string_or("_name_or_path", "");
    if (c.name.empty()) c.name = std::filesystem::absolute(folder).lexically_normal().filename().string();
    if (c.name.empty()) c.name = std::filesystem::absolute(folder).lexically_normal().parent_path().filename().string();
    try {
        c.validate();
    } catch (const std::invalid_argument& e) {
        throw io::io_error(path, "file", e.what());
    }
    return c;
}

/// The safetensors files of a model folder and which one holds each tensor: model.safetensors
/// alone, or model.safetensors.index.json whose weight_map names every tensor's shard.
class hf_tensor_files {
public:
    explicit hf_tensor_files(const std::filesystem::path& folder) {
        const auto single = folder / "model.safetensors", index = folder / "model.safetensors.index.json";
        const bool has_single = detail::is_file(single), has_index = detail::is_file(index);
        if (has_single && has_index)
            throw io::io_error(folder, "weights", "both model.safetensors and model.safetensors.index.json are present; expected one "
                                                  "(remove the one that is stale)");
        if (!has_single && !has_index) {
            const bool pickle = detail::is_file(folder / "pytorch_model.bin") || detail::is_file(folder / "pytorch_model.bin.index.json");
            throw io::io_error(folder / "model.safetensors", "file",
                               pickle ? "not found; the folder has only pytorch_model.bin (pickle), which is not read: convert it "
                                        "with transformers (model.save_pretrained(dir, safe_serialization=True))"
                                      : "not found, nor model.safetensors.index.json: a Hugging Face model folder holds its weights in one of them");
        }
        if (has_single) {
            open(single);
            for (const auto& [name, info] : readers_.back()->tensors()) shard_of_[name] = 0;
            return;
        }
        index_ = index;
        const io::detail::json_config json(index);
        if (!json.has("weight_map") || !json.json().at("weight_map").is_object())
            throw io::io_error(index, "weight_map", "expected an object mapping each tensor name to its shard file");
        std::map<std::string, std::size_t> shard_numbers;
        for (const auto& [name, file] : json.json().at("weight_map").items()) {
            if (!file.is_string())
                throw io::io_error(index, "weight_map." + io::detail::name_excerpt(name), "expected a file name, found " + io::detail::json_excerpt(file));
            const std::string shard = file.get<std::string>();
            if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos || shard == "." || shard == "..")
                throw io::io_error(index, "weight_map." + io::detail::name_excerpt(name), "expected a file name in the same folder, found '" + io::detail::name_excerpt(shard) + "'");
            auto [it, inserted] = shard_numbers.emplace(shard, readers_.size());
            if (inserted) {
                if (!detail::is_file(folder / shard))
                    throw io::io_error(folder / shard, "file", "not found, but " + index.filename().string() + " names it for tensor '" +
                                                                   io::detail::name_excerpt(name) + "'");
                open(folder / shard);
            }
            shard_of_[name] = it->second;
        }
    }

    bool contains(const std::string& name) const { return shard_of_.count(name) != 0; }

    /// Where `name` lives, for messages: the shard's path.
    std::filesystem::path file_of(const std::string& name) const {
        const auto it = shard_of_.find(name);
        return it == shard_of_.end() ? (index_.empty() ? readers_.front()->path() : index_) : readers_[it->second]->path();
    }

    /// Reads `name` and checks its shape and float dtype; throws io_error naming the shard and tensor.
    io::tensor_data read(const std::string& name, const std::vector<std::int64_t>& shape) {
        const auto it = shard_of_.find(name);
        if (it == shard_of_.end())
            throw io::io_error(index_.empty() ? readers_.front()->path() : index_, "tensor '" + name + "'", "not found; the model's family needs it");
        auto& reader = *readers_[it->second];
        if (!reader.contains(name))
            throw io::io_error(reader.path(), "tensor '" + name + "'",
                               "not found, but " + index_.filename().string() + " says this shard holds it (the index and the shards disagree)");
        io::tensor_data t = reader.read(name);
        const std::string field = "tensor '" + name + "'";
        if (t.type != io::dtype::f64 && t.type != io::dtype::f32 && t.type != io::dtype::f16 && t.type != io::dtype::bf16)
            throw io::io_error(reader.path(), field, "expected a float dtype (F64, F32, F16 or BF16), found " + std::string(io::dtype_name(t.type)));
        if (t.shape != shape)
            throw io::io_error(reader.path(), field, "expected shape " + io::detail::shape_string(shape) + " (from config.json), found " +
                                                         io::detail::shape_string(t.shape));
        return t;
    }

    template <class Scalar>
    matrix<Scalar> read_matrix(const std::string& name, std::int64_t rows, std::int64_t cols) {
        return io::to_matrix<Scalar>(read(name, {rows, cols}), file_of(name).string() + ": tensor '" + name + "'");
    }
    template <class Scalar>
    vector<Scalar> read_vector(const std::string& name, std::int64_t size) {
        return io::to_vector<Scalar>(read(name, {size}), file_of(name).string() + ": tensor '" + name + "'");
    }

private:
    void open(const std::filesystem::path& path) { readers_.push_back(std::make_unique<io::safetensors_reader>(path)); }

    std::vector<std::unique_ptr<io::safetensors_reader>> readers_;
    std::map<std::string, std::size_t> shard_of_;
    std::filesystem::path index_;
};

namespace detail {

// The prefix the file uses ("transformer." or "model.", or none for the bare model classes), found
// from where the token embedding is.
inline std::string hf_prefix(const hf_tensor_files& files, const std::string& embedding, const std::string& prefix,
                             const std::filesystem::path& folder) {
    if (files.contains(prefix + embedding)) return prefix;
    if (files.contains(embedding)) return "";
    throw io::io_error(files.file_of(prefix + embedding), "tensor '" + prefix + embedding + "'",
                       "not found (nor '" + embedding + "'): the weights in " + folder.string() + " do not look like the family config.json names");
}

template <class Scalar>
void read_gpt_layers(hf_tensor_files& files, const std::string& p, decoder_weights<Scalar>& w) {
    const auto& c = w.config;
    const std::int64_t d = c.dim, h = c.hidden_dim;
    for (int l = 0; l < c.n_layers; ++l) {
        decoder_layer<Scalar> layer;
        const std::string at = p + "h." + std::to_string(l) + ".";
        layer.attn_norm_gain = files.read_vector<Scalar>(at + "ln_1.weight", d);
        layer.attn_norm_bias = files.read_vector<Scalar>(at + "ln_1.bias", d);
        layer.mlp_norm_gain = files.read_vector<Scalar>(at + "ln_2.weight", d);
        layer.mlp_norm_bias = files.read_vector<Scalar>(at + "ln_2.bias", d);
        layer.mlp.act = c.mlp_activation;
        if (c.family == model_family::gpt2) {
            // Conv1D stores [in, out]: c_attn's columns are q | k | v.
            const matrix<Scalar> qkv = files.read_matrix<Scalar>(at + "attn.c_attn.weight", d, 3 * d);
            const vector<Scalar> qkv_bias = files.read_vector<Scalar>(at + "attn.c_attn.bias", 3 * d);
            layer.wq = qkv.middleCols(0, d).transpose();
            layer.wk = qkv.middleCols(d, d).transpose();
            layer.wv = qkv.middleCols(2 * d, d).transpose();
            layer.bq = qkv_bias.segment(0, d);
            layer.bk = qkv_bias.segment(d, d);
            layer.bv = qkv_bias.segment(2 * d, d);
            layer.wo = files.read_matrix<Scalar>(at + "attn.c_proj.weight", d, d).transpose();
            layer.bo = files.read_vector<Scalar>(at + "attn.c_proj.bias", d);
            layer.mlp.w_in = files.read_matrix<Scalar>(at + "mlp.c_fc.weight", d, h).transpose();
            layer.mlp.w_out = files.read_matrix<Scalar>(at + "mlp.c_proj.weight", h, d);
        } else {
            const std::string attn = at + "attn.attention.";
            layer.wq = files.read_matrix<Scalar>(attn + "q_proj.weight", d, d);
            layer.wk = files.read_matrix<Scalar>(attn + "k_proj.weight", d, d);
            layer.wv = files.read_matrix<Scalar>(attn + "v_proj.weight", d, d);
            layer.wo = files.read_matrix<Scalar>(attn + "out_proj.weight", d, d);
            layer.bo = files.read_vector<Scalar>(attn + "out_proj.bias", d);
            layer.mlp.w_in = files.read_matrix<Scalar>(at + "mlp.c_fc.weight", h, d);
            layer.mlp.w_out = files.read_matrix<Scalar>(at + "mlp.c_proj.weight", d, h).transpose();
        }
        layer.mlp.b_in = files.read_vector<Scalar>(at + "mlp.c_fc.bias", h);
        layer.mlp.b_out = files.read_vector<Scalar>(at + "mlp.c_proj.bias", d);
        w.layers.push_back(std::move(layer));
    }
    w.final_norm_gain = files.read_vector<Scalar>(p + "ln_f.weight", d);
    w.final_norm_bias = files.read_vector<Scalar>(p + "ln_f.bias", d);
    w.position_embedding = files.read_matrix<Scalar>(p + "wpe.weight", c.seq_len, d);
}

template <class Scalar>
void read_llama_layers(hf_tensor_files& files, const std::string& p, decoder_weights<Scalar>& w) {
    const auto& c = w.config;
    const std::int64_t d = c.dim, h = c.hidden_dim, q = c.q_dim(), kv = c.kv_dim();
    const auto optional_bias = [&](const std::string& name, std::int64_t size) {
        return files.contains(name) ? files.read_vector<Scalar>(name, size) : vector<Scalar>();
    };
    for (int l = 0; l < c.n_layers; ++l) {
        decoder_layer<Scalar> layer;
        const std::string at = p + "layers." + std::to_string(l) + ".";
        layer.attn_norm_gain = files.read_vector<Scalar>(at + "input_layernorm.weight", d);
        layer.mlp_norm_gain = files.read_vector<Scalar>(at + "post_attention_layernorm.weight", d);
        layer.wq = files.read_matrix<Scalar>(at + "self_attn.q_proj.weight", q, d);
        layer.wk = files.read_matrix<Scalar>(at + "self_attn.k_proj.weight", kv, d);
        layer.wv = files.read_matrix<Scalar>(at + "self_attn.v_proj.weight", kv, d);
        layer.wo = files.read_matrix<Scalar>(at + "self_attn.o_proj.weight", d, q);
        layer.bq = optional_bias(at + "self_attn.q_proj.bias", q);
        layer.bk = optional_bias(at + "self_attn.k_proj.bias", kv);
        layer.bv = optional_bias(at + "self_attn.v_proj.bias", kv);
        layer.bo = optional_bias(at + "self_attn.o_proj.bias", d);
        layer.mlp.act = c.mlp_activation;
        layer.mlp.w_in = files.read_matrix<Scalar>(at + "mlp.gate_proj.weight", h, d);
        layer.mlp.w_up = files.read_matrix<Scalar>(at + "mlp.up_proj.weight", h, d);
        layer.mlp.w_out = files.read_matrix<Scalar>(at + "mlp.down_proj.weight", d, h).transpose();
        layer.mlp.b_in = optional_bias(at + "mlp.gate_proj.bias", h);
        layer.mlp.b_out = optional_bias(at + "mlp.down_proj.bias", d);
        if (files.contains(at + "mlp.up_proj.bias"))
            throw io::io_error(files.file_of(at + "mlp.up_proj.bias"), "tensor '" + at + "mlp.up_proj.bias'",
                               "an up-projection bias is not supported (mlp_bias models are read without it only when it is absent)");
        w.layers.push_back(std::move(layer));
    }
    w.final_norm_gain = files.read_vector<Scalar>(p + "norm.weight", d);
}

}  // namespace detail

/// The whole model of a Hugging Face folder (config.json + safetensors weights), converted to
/// Scalar. Problems throw io_error naming the file and the field or tensor: a missing or
/// conflicting weights file, a shard the index names that is absent or lacks the tensor, a tensor
/// of the wrong shape or a non-float dtype, an unsupported family or setting.
template <class Scalar>
decoder_weights<Scalar> read_hf_model(const std::filesystem::path& folder) {
    decoder_weights<Scalar> w;
    w.config = read_hf_config(folder);
    hf_tensor_files files(folder);
    const auto& c = w.config;
    std::string prefix;
    if (c.family == model_family::llama) {
        prefix = detail::hf_prefix(files, "embed_tokens.weight", "model.", folder);
        w.token_embedding = files.read_matrix<Scalar>(prefix + "embed_tokens.weight", c.vocab_size, c.dim);
        detail::read_llama_layers(files, prefix, w);
    } else {
        prefix = detail::hf_prefix(files, "wte.weight", "transformer.", folder);
        w.token_embedding = files.read_matrix<Scalar>(prefix + "wte.weight", c.vocab_size, c.dim);
        detail::read_gpt_layers(files, prefix, w);
    }
    if (files.contains("lm_head.weight")) w.lm_head = files.read_matrix<Scalar>("lm_head.weight", c.vocab_size, c.dim);
    else if (!c.tied_embeddings)
        throw io::io_error(files.file_of("lm_head.weight"), "tensor 'lm_head.weight'",
                           "not found, and config.json has tie_word_embeddings false: the output matrix is missing");
    try {
        w.validate();
    } catch (const std::invalid_argument& e) {
        throw io::io_error(folder, "weights", e.what());
    }
    return w;
}

}  // namespace sparse_distill::lm
