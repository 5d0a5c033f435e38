#pragma once
// What the suites of the backends checked against backend::cpu (tests/cuda, tests/onednn) share: the
// relative error of one tensor against the reference, and ten trainer steps with a live teacher, so both
// compare the same training run.
#include <sparse_distill.hpp>

namespace sd_backend_agreement {

namespace sd = sparse_distill;

/// ‖ours − reference‖ / ‖reference‖ in double (the plain difference when the reference is zero).
template <class A, class B>
double relative_error(const A& ours, const B& reference) {
    const double denominator = reference.template cast<double>().norm();
    const double difference = (ours.template cast<double>() - reference.template cast<double>()).norm();
    return denominator > 0 ? difference / denominator : difference;
}

/// Ten trainer steps (batch 256, λ 1e-3, lr 1e-3, weight decay 1e-2) of a student made with seed 21, on
/// Gaussian inputs of seed 22, with the teacher run live; returns the student's weights.
template <class Scalar, class Backend>
sd::student_weights<Scalar> ten_steps(const sd::mlp_weights<Scalar>& teacher_weights, const sd::student_config& c) {
    sd::teacher_mlp<Scalar, Backend> teacher(teacher_weights);
    sd::student_mlp<Scalar, Backend> student(c, 21);
    sd::train_settings ts;
    ts.batch_size = 256;
    ts.tokens = 10 * 256;
    ts.loss.l1_coeff = 1e-3;
    ts.schedule.lr = 1e-3;
    ts.adam.weight_decay = 1e-2;
    sd::data::gaussian_source<Scalar> source(c.d_in, 22);
    sd::trainer<Scalar, Backend> trainer(student, teacher, ts);
    trainer.run(source);
    return student.weights();
}

}  // namespace sd_backend_agreement
