#pragma once
// The shape and options of a student MLP: pre = W_enc·(x − b_pre) + b_enc, a = the sparsity mode's
// function of pre (sparsity.hpp), ŷ = W_dec·a + b_dec (+ W_skip·x with a skip connection).
#include "../config.hpp"
#include "../detail/enum_names.hpp"
#include "../detail/json_fields.hpp"
#include "../tensor/matrix.hpp"
#include "activation.hpp"
#include "decoder_norm.hpp"
#include "sparsity.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sparse_distill {

/// How the student's weights start.
enum class student_init {
    /// As the post's code (Neel Nanda's SAE): torch.nn.init.kaiming_uniform_ on W_enc stored
    /// [d_in, d_sae] and W_dec stored [d_sae, d_out], i.e. bound √(6/d_sae) for the encoder and
    /// √(6/d_out) for the decoder (torch takes fan_in = size(1)); biases 0; decoder constraint applied.
    kaiming_uniform,
    /// SAELens / OpenAI practice: decoder rows random directions scaled to norm `tied_init_norm`
    /// (0.1), encoder rows = decoder rows (W_enc = W_decᵀ); biases 0. Needs d_in = d_out.
    tied_transpose,
    /// torch.nn.Linear's default: weights and biases ~ U(±1/√fan_in), fan_in = d_in (encoder),
    /// d_sae (decoder).
    linear_default,
};

/// Where the student's input is centred before the encoder.
enum class pre_bias {
    none,           ///< x̃ = x
    learned,        ///< x̃ = x − b_pre, b_pre a parameter of its own [d_in]
    tied_decoder,   ///< x̃ = x − b_dec (SAELens apply_b_dec_to_input); needs d_in = d_out and biases
};

inline constexpr auto student_init_names = detail::make_enum_table<student_init>(
    "student init", {{student_init::kaiming_uniform, "kaiming_uniform"},
                     {student_init::tied_transpose, "tied_transpose"},
                     {student_init::linear_default, "linear_default"}});
inline constexpr auto pre_bias_names = detail::make_enum_table<pre_bias>(
    "pre-bias", {{pre_bias::none, "none"}, {pre_bias::learned, "learned"}, {pre_bias::tied_decoder, "tied_decoder"}});

constexpr std::string_view to_string(student_init i) { return student_init_names.name(i); }
inline student_init parse_student_init(std::string_view name) { return student_init_names.parse(name); }
SD_JSON_ENUM(student_init, student_init_names)

constexpr std::string_view to_string(pre_bias p) { return pre_bias_names.name(p); }
inline pre_bias parse_pre_bias(std::string_view name) { return pre_bias_names.parse(name); }
SD_JSON_ENUM(pre_bias, pre_bias_names)

struct student_config {
    index_t d_in = 0;
    index_t d_sae = 0;
    index_t d_out = 0;
    activation act = activation::relu;
    /// How the latents become sparse (sparsity.hpp); every mode but l1 needs act = relu.
    sparsity_mode sparsity = sparsity_mode::l1;
    index_t k = 0;                             ///< topk: latents kept per token; batchtopk: k·batch per batch
    /// jumprelu: initial θ_j = threshold_init · exp(threshold_init_logstd·N(0, 1)).
    double threshold_init = 0.001;
    double threshold_init_logstd = 0;
    /// batchtopk: the inference threshold τ follows τ ← (1 − rate)·τ + rate·(smallest kept activation)
    /// after each training forward pass (SAELens topk_threshold_lr).
    double threshold_rate = 0.01;
    /// A linear skip connection ŷ += x·W_skip, W_skip [d_in, d_out] (skip transcoders); it starts at
    /// skip_init_scale·N(0, 1/d_in), zero by default as in SAELens and sparsify.
    bool skip = false;
    double skip_init_scale = 0;
    bool biases = true;                        ///< b_enc and b_dec exist (the toy has none)
    // A member that shares its enum's name hides the enum inside the struct: the enums are qualified here.
    sparse_distill::pre_bias pre_bias = sparse_distill::pre_bias::none;
    student_init init = student_init::kaiming_uniform;
    sparse_distill::decoder_norm decoder_norm = sparse_distill::decoder_norm::cap;
    double tied_init_norm = 0.1;               ///< decoder row norm for student_init::tied_transpose
    /// A ReLU student takes the sparse path (decoder and gradients from the active pairs only) on a
    /// step whose fraction of active activations is below this; 0 never, 1 always (when the backend
    /// has the path). Both paths compute the same gradients.
    double sparse_below_density = 0.05;

    /// A student of `teacher` (a teacher_mlp or mlp_weights: anything with d_model() and d_mlp()):
    /// d_in = d_out = d_model, d_sae = round(width_ratio · d_mlp) (the post's students are ×4), every
    /// other field at its default.
    template <class Teacher>
    static student_config for_teacher(const Teacher& teacher, double width_ratio = 4.0) {
        if (!(width_ratio > 0) || !std::isfinite(width_ratio))
            throw std::invalid_argument("student_config::for_teacher: width_ratio must be positive and finite (got " +
                                        std::to_string(width_ratio) + ")");
        student_config c;
        c.d_in = c.d_out = static_cast<index_t>(teacher.d_model());
        c.d_sae = std::max<index_t>(1, static_cast<index_t>(std::llround(width_ratio * double(teacher.d_mlp()))));
        return c;
    }

    /// Throws std::invalid_argument naming the field that is wrong.
    void validate() const {
        auto fail = [](const std::string& what) { throw std::invalid_argument("student_config: " + what); };
        if (d_in <= 0 || d_sae <= 0 || d_out <= 0)
            fail("d_in, d_sae and d_out must be positive (got " + std::to_string(d_in) + ", " +
                 std::to_string(d_sae) + ", " + std::to_string(d_out) + ")");
        if (pre_bias == sparse_distill::pre_bias::tied_decoder && (d_in != d_out || !biases))
            fail("pre_bias = tied_decoder subtracts b_dec from the input: it needs d_in = d_out and biases = true");
        if (init == student_init::tied_transpose && d_in != d_out)
            fail("init = tied_transpose sets W_enc = W_decᵀ: it needs d_in = d_out");
        if (!(tied_init_norm > 0)) fail("tied_init_norm must be positive");
        if (!(sparse_below_density >= 0 && sparse_below_density <= 1)) fail("sparse_below_density must lie in [0, 1]");
        if (sparsity != sparsity_mode::l1 && act != activation::relu)
            fail("sparsity = " + std::string(to_string(sparsity)) + " needs act = relu (got " + std::string(to_string(act)) + ")");
        if (keeps_k_latents(sparsity) && (k <= 0 || k > d_sae))
            fail("k must lie in [1, d_sae = " + std::to_string(d_sae) + "] for sparsity = " + std::string(to_string(sparsity)) +
                 " (got " + std::to_string(k) + ")");
        if (!keeps_k_latents(sparsity) && k != 0)
            fail("k = " + std::to_string(k) + " is set but sparsity = " + std::string(to_string(sparsity)) +
                 " keeps no fixed number of latents (use topk or batchtopk)");
        if (!(threshold_init > 0) || !std::isfinite(threshold_init)) fail("threshold_init must be positive and finite");
        if (!(threshold_init_logstd >= 0) || !std::isfinite(threshold_init_logstd))
            fail("threshold_init_logstd must be non-negative and finite");
        if (!(threshold_rate > 0 && threshold_rate <= 1)) fail("threshold_rate must lie in (0, 1]");
        if (!(skip_init_scale >= 0) || !std::isfinite(skip_init_scale)) fail("skip_init_scale must be non-negative and finite");
    }

    /// The number of latents a training forward pass keeps in a batch of `rows` tokens (batchtopk:
    /// int(k·rows), as SAELens counts it).
    index_t kept_per_batch(index_t rows) const { return k * rows; }

    bool operator==(const student_config&) const = default;
};

/// A student_config as JSON: in checkpoints' run descriptions, the distill program's metrics.json and
/// the cfg.json of an exported student. One key per field, the field's name; enums by their names.
template <class Json>
void to_json(Json& j, const student_config& c) {
    j = Json{{"d_in", c.d_in},
             {"d_sae", c.d_sae},
             {"d_out", c.d_out},
             {"act", c.act},
             {"sparsity", c.sparsity},
             {"k", c.k},
             {"threshold_init", c.threshold_init},
             {"threshold_init_logstd", c.threshold_init_logstd},
             {"threshold_rate", c.threshold_rate},
             {"skip", c.skip},
             {"skip_init_scale", c.skip_init_scale},
             {"biases", c.biases},
             {"pre_bias", c.pre_bias},
             {"init", c.init},
             {"decoder_norm", c.decoder_norm},
             {"tied_init_norm", c.tied_init_norm},
             {"sparse_below_density", c.sparse_below_density}};
}

/// Reads what to_json writes; an absent key keeps its default. A value of the wrong type, an unknown
/// name or an unknown key throws std::invalid_argument naming the key, e.g.
/// `student_config.act: unknown activation 'tanh': expected relu, gelu, gelu_tanh or silu`.
template <class Json>
void from_json(const Json& j, student_config& c) {
    detail::json_fields<Json> field(j, "student_config");
    field("d_in", c.d_in)("d_sae", c.d_sae)("d_out", c.d_out)("act", c.act)("biases", c.biases);
    field("sparsity", c.sparsity)("k", c.k)("threshold_init", c.threshold_init)("threshold_init_logstd", c.threshold_init_logstd);
    field("threshold_rate", c.threshold_rate)("skip", c.skip)("skip_init_scale", c.skip_init_scale);
    field("pre_bias", c.pre_bias)("init", c.init)("decoder_norm", c.decoder_norm)("tied_init_norm", c.tied_init_norm);
    field("sparse_below_density", c.sparse_below_density).refuse_other_keys();
}

}  // namespace sparse_distill
