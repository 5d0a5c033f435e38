#pragma once
// Students built by hand from a teacher, so that analyses have known answers.
#include <sparse_distill.hpp>

#include <tuple>

namespace sparse_distill::testing {

struct copied_model {
    mlp_weights<double> teacher;
    student_weights<double> student;
    student_config config;
};

/// A ReLU teacher (d_model 8, d_mlp 6) and a ReLU student whose features are `copies` copies of each
/// teacher neuron, each writing 1/copies of its output, so the student computes exactly the teacher.
/// With `dead_neuron`, neuron 0's bias is so negative that it never fires.
inline copied_model copied_teacher(bool dead_neuron, int copies = 1) {
    copied_model m;
    m.teacher = random_mlp_weights<double>(8, 6, activation::relu, 17);
    if (dead_neuron) m.teacher.b_in(0) = -1e3;
    const index_t h = 6 * copies;
    m.config.d_in = m.config.d_out = 8;
    m.config.d_sae = h;
    m.config.act = activation::relu;
    m.config.decoder_norm = decoder_norm::none;
    m.student.w_enc.resize(h, 8);
    m.student.w_dec.resize(h, 8);
    m.student.b_enc.resize(h);
    for (index_t k = 0; k < 6; ++k)
        for (int c = 0; c < copies; ++c) {
            const index_t j = k * copies + c;
            m.student.w_enc.row(j) = m.teacher.w_in.row(k);
            m.student.b_enc(j) = m.teacher.b_in(k);
            m.student.w_dec.row(j) = m.teacher.w_out.row(k) / double(copies);
        }
    m.student.b_dec = m.teacher.b_out;
    return m;
}

/// `tokens` standard normal inputs and the teacher's outputs on them.
template <class Backend>
analysis::eval_tokens<double> gaussian_eval(const teacher_mlp<double, Backend>& teacher, index_t tokens, std::uint64_t seed = 5) {
    data::gaussian_source<double> source(teacher.d_model(), seed);
    return analysis::collect_eval_tokens(source, teacher, tokens);
}

}  // namespace sparse_distill::testing
