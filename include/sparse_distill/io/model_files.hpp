#pragma once
// Teachers and students from the naming schemes of the Python tools, from a file already read
// (io/teacher_import.hpp imports a teacher from whole GPT-2/GPT-Neo/Llama checkpoints):
//   transformer_lens MLP: W_in [d_model, d_mlp], b_in, W_out [d_mlp, d_model], b_out (optionally prefixed)
//   SAELens transcoder:   W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_out], b_dec
// converted to the library's feature-major layout (row j = feature/neuron j).
#include "../config.hpp"
#include "../nn/mlp_weights.hpp"
#include "../nn/student_weights.hpp"
#include "detail/teacher_tensors.hpp"
#include "safetensors.hpp"

#include <stdexcept>
#include <string>

namespace sparse_distill::io {

namespace detail {
inline std::string describe(const safetensors_file& file, const std::string& name) {
    return file.path.string() + ": tensor '" + name + "'";
}
}  // namespace detail

/// A GELU (or other) teacher from transformer_lens names, e.g. prefix "blocks.1.mlp." or "":
/// W_in [d_model, d_mlp], W_out [d_mlp, d_model], optional b_in [d_mlp] and b_out [d_model].
/// Throws io_error naming the tensor for a missing W_in/W_out, a shape that disagrees with W_in's
/// (expected vs found) or a non-finite weight. io/teacher_import.hpp reads whole checkpoints.
template <class Scalar>
mlp_weights<Scalar> mlp_weights_from_transformer_lens(const safetensors_file& file, activation act,
                                                     const std::string& prefix = "") {
    detail::file_source source{file};
    detail::mlp_tensor_reader<detail::file_source> tensors(source, prefix);
    mlp_weights<Scalar> w;
    w.act = act;
    w.w_in = tensors.template first_matrix<Scalar>("W_in", detail::mlp_axis::d_model, detail::mlp_axis::d_mlp).transpose();
    w.w_out = tensors.template matrix_of<Scalar>("W_out", detail::mlp_axis::d_mlp, detail::mlp_axis::d_model);
    if (tensors.has("b_in")) w.b_in = tensors.template vector_of<Scalar>("b_in", detail::mlp_axis::d_mlp);
    if (tensors.has("b_out")) w.b_out = tensors.template vector_of<Scalar>("b_out", detail::mlp_axis::d_model);
    try {
        w.validate();
    } catch (const std::invalid_argument& e) {
        throw io_error(file.path.string() + ": " + e.what());
    }
    return w;
}

/// Student weights from SAELens names (no pre-bias).
template <class Scalar>
student_weights<Scalar> student_weights_from_saelens(const safetensors_file& file) {
    student_weights<Scalar> w;
    w.w_enc = to_matrix<Scalar>(file.at("W_enc"), detail::describe(file, "W_enc")).transpose();
    w.b_enc = to_vector<Scalar>(file.at("b_enc"), detail::describe(file, "b_enc"));
    w.w_dec = to_matrix<Scalar>(file.at("W_dec"), detail::describe(file, "W_dec"));
    w.b_dec = to_vector<Scalar>(file.at("b_dec"), detail::describe(file, "b_dec"));
    return w;
}

}  // namespace sparse_distill::io
