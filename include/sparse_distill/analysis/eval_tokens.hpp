#pragma once
// A fixed set of held-out tokens that every analysis of one model reads: the teacher's inputs, the
// student's inputs (the same for a distilled student, the teacher's outputs for an SAE) and targets.
#include "../nn/teacher.hpp"
#include "../tensor/matrix.hpp"

#include <stdexcept>
#include <string>

namespace sparse_distill::analysis {

template <class Scalar>
struct eval_tokens {
    matrix<Scalar> teacher_input;  ///< [N, d_model]
    matrix<Scalar> student_input;  ///< [N, d_in]
    matrix<Scalar> target;         ///< [N, d_out]

    index_t rows() const { return target.rows(); }
};

/// `tokens` inputs from `source` (taken from its current position) and the teacher's outputs on them.
/// With `sae_inputs` the student reads the teacher's output, as an SAE on the MLP output does.
template <class Scalar, class Backend, class Source>
eval_tokens<Scalar> collect_eval_tokens(Source& source, const teacher_mlp<Scalar, Backend>& teacher, index_t tokens,
                                        bool sae_inputs = false) {
    if (tokens <= 0) throw std::invalid_argument("collect_eval_tokens: tokens must be positive");
    eval_tokens<Scalar> e;
    e.teacher_input.resize(tokens, teacher.d_model());
    if (!source.next_batch(e.teacher_input))
        throw std::runtime_error("collect_eval_tokens: the source ran out before " + std::to_string(tokens) + " tokens");
    e.target = teacher.forward(e.teacher_input);
    e.student_input = sae_inputs ? e.target : e.teacher_input;
    return e;
}

/// The same tokens seen by an SAE: its input is the target.
template <class Scalar>
eval_tokens<Scalar> as_sae_tokens(const eval_tokens<Scalar>& e) {
    return {e.teacher_input, e.target, e.target};
}

}  // namespace sparse_distill::analysis
