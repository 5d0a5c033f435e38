#pragma once
// Used by bench_train_step (CPU) and bench_gpu_step (CPU and CUDA policies) to time a student at a
// realistic sparsity: an untrained student is dense, a trained one is sparse.
#include <sparse_distill.hpp>

namespace sd_bench {

/// Sets every b_enc to the value, found by bisection on `probe`, at which about `target_l0` features
/// fire per token.
template <class Scalar, class Backend>
void shift_to_l0(sparse_distill::student_mlp<Scalar, Backend>& student, const sparse_distill::matrix<Scalar>& probe,
                 double target_l0) {
    auto w = student.weights();
    double lo = -10, hi = 0;
    for (int i = 0; i < 40; ++i) {
        const double mid = 0.5 * (lo + hi);
        w.b_enc.setConstant(Scalar(mid));
        student.load(w);
        const double l0 = double((student.encode(probe).array() > Scalar(0)).count()) / double(probe.rows());
        (l0 > target_l0 ? hi : lo) = mid;
    }
}

}  // namespace sd_bench
