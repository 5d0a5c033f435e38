#pragma once
// One forward + loss + backward of a student on a batch with known targets.
#include "../nn/student.hpp"
#include "distill_loss.hpp"

namespace sparse_distill {

/// Fills student.gradients() with ∂loss/∂θ for inputs x and teacher targets y (both [batch, ·], in
/// backend memory) and returns the loss terms. `ws` is reserved for the batch here.
template <class Scalar, class Backend>
loss_terms loss_and_gradients(student_mlp<Scalar, Backend>& student, in_matrix<Scalar> x, in_matrix<Scalar> y,
                              const loss_settings& settings, student_workspace<Scalar, Backend>& ws) {
    if (y.rows != x.rows || y.cols != student.d_out())
        throw std::invalid_argument("loss_and_gradients: targets are [" + std::to_string(y.rows) + ", " +
                                    std::to_string(y.cols) + "], expected [" + std::to_string(x.rows) + ", " +
                                    std::to_string(student.d_out()) + "]");
    ws.reserve(x.rows, student.config());
    const backend::activation_sums sums = student.forward(x, ws);
    const matrix_view<Scalar> prediction{ws.prediction.data(), x.rows, student.d_out()};
    const matrix_view<Scalar> prediction_grad{ws.prediction_grad.data(), x.rows, student.d_out()};
    const loss_terms terms = distill_loss<Backend, Scalar>(settings, prediction, y, prediction_grad, sums);
    student.backward(x, ws, Scalar(l1_gradient(settings, x.rows)));
    return terms;
}

}  // namespace sparse_distill
