#pragma once
// The teacher: the MLP being distilled, y = W_out·act(W_in·x + b_in) + b_out, act GELU (exact or
// tanh) for a transformer's MLP, or ReLU for toy setups; or a gated MLP (SwiGLU, Llama),
// y = W_out·(act(W_in·x + b_in) ⊙ (W_up·x)) + b_out with act = silu. Forward only: the teacher is
// never trained (nn/teacher_gradient.hpp has its input gradient, for checks and attribution).
#include "../backend/cpu.hpp"
#include "../tensor/view.hpp"
#include "mlp_weights.hpp"

namespace sparse_distill {

/// Scratch memory of a teacher's passes, grown to the largest batch seen. The teacher itself is then
/// const: several callers (trainer, analyses) share one teacher, each with its own workspace.
template <class Scalar, backend::backend_policy Backend = backend::cpu>
struct teacher_workspace {
    typename Backend::template buffer<Scalar> hidden;  ///< [batch, d_mlp]
    typename Backend::template buffer<Scalar> up;      ///< x·W_upᵀ [batch, d_mlp] (gated only)
};

template <class Scalar, backend::backend_policy Backend = backend::cpu>
class teacher_mlp {
public:
    using scalar_type = Scalar;
    using backend_type = Backend;
    using workspace = teacher_workspace<Scalar, Backend>;

    /// Copies (and validates) host weights into backend memory.
    explicit teacher_mlp(const mlp_weights<Scalar>& weights) { load(weights); }

    void load(const mlp_weights<Scalar>& weights) {
        weights.validate();
        d_model_ = weights.d_model();
        d_mlp_ = weights.d_mlp();
        has_b_in_ = weights.b_in.size() != 0;
        has_b_out_ = weights.b_out.size() != 0;
        gated_ = weights.gated();
        act_ = weights.act;
        storage_.resize((gated_ ? 3 : 2) * d_mlp_ * d_model_ + d_mlp_ + d_model_);
        if (gated_) backend::copy_from_host<Backend>(weights.w_up.data(), w_up().data, d_mlp_ * d_model_);
        backend::copy_from_host<Backend>(weights.w_in.data(), w_in().data, d_mlp_ * d_model_);
        backend::copy_from_host<Backend>(weights.w_out.data(), w_out().data, d_mlp_ * d_model_);
        if (has_b_in_) backend::copy_from_host<Backend>(weights.b_in.data(), b_in().data, d_mlp_);
        if (has_b_out_) backend::copy_from_host<Backend>(weights.b_out.data(), b_out().data, d_model_);
    }

    /// Host copy of the weights.
    mlp_weights<Scalar> weights() const {
        mlp_weights<Scalar> w;
        w.act = act_;
        w.w_in.resize(d_mlp_, d_model_);
        w.w_out.resize(d_mlp_, d_model_);
        backend::copy_to_host<Backend>(w_in().data, w.w_in.data(), d_mlp_ * d_model_);
        backend::copy_to_host<Backend>(w_out().data, w.w_out.data(), d_mlp_ * d_model_);
        if (has_b_in_) {
            w.b_in.resize(d_mlp_);
            backend::copy_to_host<Backend>(b_in().data, w.b_in.data(), d_mlp_);
        }
        if (has_b_out_) {
            w.b_out.resize(d_model_);
            backend::copy_to_host<Backend>(b_out().data, w.b_out.data(), d_model_);
        }
        if (gated_) {
            w.w_up.resize(d_mlp_, d_model_);
            backend::copy_to_host<Backend>(w_up().data, w.w_up.data(), d_mlp_ * d_model_);
        }
        return w;
    }

    index_t d_model() const { return d_model_; }
    index_t d_mlp() const { return d_mlp_; }
    activation act() const { return act_; }
    bool gated() const { return gated_; }

    /// hidden = act(x·W_inᵀ + b_in) [⊙ x·W_upᵀ when gated], [batch, d_mlp]: the neuron activations.
    void hidden(matrix_view<const Scalar> x, matrix_view<Scalar> hidden_out, workspace& ws) const {
        check_input(x);
        backend::matmul<Backend>(x, false, matrix_view<const Scalar>(w_in()), true, hidden_out);
        backend::bias_activate<Backend>(hidden_out, vector_view<const Scalar>(b_in()), act_, hidden_out);
        if (gated_) {
            if (ws.up.size() < x.rows * d_mlp_) ws.up.resize(x.rows * d_mlp_);
            const matrix_view<Scalar> up{ws.up.data(), x.rows, d_mlp_};
            backend::matmul<Backend>(x, false, matrix_view<const Scalar>(w_up()), true, up);
            backend::multiply_elementwise<Backend>(hidden_out, matrix_view<const Scalar>(up));
        }
    }

    /// y = act(x·W_inᵀ + b_in)·W_out + b_out, x [batch, d_model] → y [batch, d_model].
    void forward(matrix_view<const Scalar> x, matrix_view<Scalar> y, workspace& ws) const {
        if (ws.hidden.size() < x.rows * d_mlp_) ws.hidden.resize(x.rows * d_mlp_);
        const matrix_view<Scalar> h{ws.hidden.data(), x.rows, d_mlp_};
        hidden(x, h, ws);
        backend::matmul<Backend>(matrix_view<const Scalar>(h), false, matrix_view<const Scalar>(w_out()), false, y);
        backend::add_row_vector<Backend>(y, vector_view<const Scalar>(b_out()));
    }

    /// Host convenience: y for host inputs (uploads, computes, downloads).
    matrix<Scalar> forward(const matrix<Scalar>& x) const {
        typename Backend::template buffer<Scalar> xb(x.size()), yb(x.rows() * d_model_);
        backend::copy_from_host<Backend>(x.data(), xb.data(), x.size());
        workspace ws;
        forward(matrix_view<const Scalar>{xb.data(), x.rows(), x.cols()}, matrix_view<Scalar>{yb.data(), x.rows(), d_model_}, ws);
        matrix<Scalar> y(x.rows(), d_model_);
        backend::copy_to_host<Backend>(yb.data(), y.data(), y.size());
        return y;
    }

    /// Host convenience: the neuron activations [rows, d_mlp] for host inputs.
    matrix<Scalar> hidden(const matrix<Scalar>& x) const {
        typename Backend::template buffer<Scalar> xb(x.size()), hb(x.rows() * d_mlp_);
        backend::copy_from_host<Backend>(x.data(), xb.data(), x.size());
        workspace ws;
        hidden(matrix_view<const Scalar>{xb.data(), x.rows(), x.cols()}, matrix_view<Scalar>{hb.data(), x.rows(), d_mlp_}, ws);
        matrix<Scalar> h(x.rows(), d_mlp_);
        backend::copy_to_host<Backend>(hb.data(), h.data(), h.size());
        return h;
    }

    matrix_view<Scalar> w_in() { return {storage_.data(), d_mlp_, d_model_}; }
    matrix_view<const Scalar> w_in() const { return {storage_.data(), d_mlp_, d_model_}; }
    matrix_view<Scalar> w_out() { return {storage_.data() + d_mlp_ * d_model_, d_mlp_, d_model_}; }
    matrix_view<const Scalar> w_out() const { return {storage_.data() + d_mlp_ * d_model_, d_mlp_, d_model_}; }
    vector_view<Scalar> b_in() { return {storage_.data() + 2 * d_mlp_ * d_model_, has_b_in_ ? d_mlp_ : 0}; }
    vector_view<const Scalar> b_in() const { return {storage_.data() + 2 * d_mlp_ * d_model_, has_b_in_ ? d_mlp_ : 0}; }
    vector_view<Scalar> b_out() { return {storage_.data() + 2 * d_mlp_ * d_model_ + d_mlp_, has_b_out_ ? d_model_ : 0}; }
    vector_view<const Scalar> b_out() const {
        return {storage_.data() + 2 * d_mlp_ * d_model_ + d_mlp_, has_b_out_ ? d_model_ : 0};
    }
    /// W_up [d_mlp, d_model] of a gated MLP (0 rows otherwise).
    matrix_view<Scalar> w_up() { return {storage_.data() + 2 * d_mlp_ * d_model_ + d_mlp_ + d_model_, gated_ ? d_mlp_ : 0, d_model_}; }
    matrix_view<const Scalar> w_up() const {
        return {storage_.data() + 2 * d_mlp_ * d_model_ + d_mlp_ + d_model_, gated_ ? d_mlp_ : 0, d_model_};
    }

private:
    void check_input(matrix_view<const Scalar> x) const {
        if (x.cols != d_model_)
            throw std::invalid_argument("teacher_mlp: input has " + std::to_string(x.cols) +
                                        " columns, expected d_model = " + std::to_string(d_model_));
    }

    index_t d_model_ = 0, d_mlp_ = 0;
    bool has_b_in_ = false, has_b_out_ = false, gated_ = false;
    activation act_ = activation::gelu;
    typename Backend::template buffer<Scalar> storage_;  // w_in | w_out | b_in | b_out | w_up (gated only)
};

}  // namespace sparse_distill
