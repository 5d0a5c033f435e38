#pragma once
// One forward + loss + backward of a student on a batch with known targets.
#include "../backend/step_sums.hpp"
#include "../nn/student.hpp"
#include "distill_loss.hpp"

#include <tuple>

namespace sparse_distill {

/// Fills student.gradients() with ∂loss/∂θ for inputs x and teacher targets y (both [batch, ·], in
/// backend memory) and returns the step's sums, from which loss_terms_of gives the loss terms. This is
/// the work a trainer hands to backend::replay_step. `ws` is reserved for the batch here.
/// `batch_rows` is the batch the loss averages over: x.rows (0, the default), or on one of several
/// data-parallel ranks the global batch of which x holds this rank's rows, so that the ranks' summed
/// gradients are the global batch's gradient.
template <class Scalar, class Backend>
backend::step_sums gradients_and_sums(student_mlp<Scalar, Backend>& student, in_matrix<Scalar> x, in_matrix<Scalar> y,
                                      const loss_settings& settings, student_workspace<Scalar, Backend>& ws,
                                      index_t batch_rows = 0) {
    if (batch_rows == 0) batch_rows = x.rows;
    if (y.rows != x.rows || y.cols != student.d_out())
        throw std::invalid_argument("loss_and_gradients: targets are [" + std::to_string(y.rows) + ", " +
                                    std::to_string(y.cols) + "], expected [" + std::to_string(x.rows) + ", " +
                                    std::to_string(student.d_out()) + "]");
    ws.reserve(x.rows, student.config());
    backend::step_sums sums;
    ws.training = true;
    sums.activations = student.forward(x, ws);
    const matrix_view<Scalar> prediction{ws.prediction.data(), x.rows, student.d_out()};
    const matrix_view<Scalar> prediction_grad{ws.prediction_grad.data(), x.rows, student.d_out()};
    sums.squared_error = squared_error_and_gradient<Backend, Scalar>(prediction, y, prediction_grad, batch_rows);
    if (settings.auxk.enabled()) std::tie(sums.auxk, sums.total_variance) = student.auxk_forward(y, ws, settings.auxk);
    student.backward(x, ws, penalty_gradients_of(settings, batch_rows));
    sums.threshold_window = ws.threshold_window;
    ws.training = false;
    return sums;
}

/// The same, returning the loss terms.
template <class Scalar, class Backend>
loss_terms loss_and_gradients(student_mlp<Scalar, Backend>& student, in_matrix<Scalar> x, in_matrix<Scalar> y,
                              const loss_settings& settings, student_workspace<Scalar, Backend>& ws) {
    return loss_terms_of(settings, x.rows, gradients_and_sums(student, x, y, settings, ws));
}

}  // namespace sparse_distill
