#pragma once
// The student: a wide MLP trained to reproduce the teacher with sparse hidden activations.
//   x̃ = x − b_pre (optional),  z = x̃·W_encᵀ + b_enc,  a = the sparsity mode's function of z
//   (act(z), TopK, BatchTopK or JumpReLU: nn/sparsity.hpp),  ŷ = a·W_dec + b_dec (+ x·W_skip)
// All parameters live in one flat buffer (w_enc | b_enc | w_dec | b_dec | b_pre | log_threshold |
// w_skip, the last three only where the config has them) with a gradient buffer of the same layout,
// so one optimizer state covers the model and a checkpoint is one write.
#include "../backend/cpu.hpp"
#include "../optim/adam_update_args.hpp"
#include "../random/fill.hpp"
#include "../tensor/view.hpp"
#include "penalties.hpp"
#include "student_config.hpp"
#include "student_weights.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparse_distill {

/// Scratch memory for one batch of forward and backward passes, sized by `reserve`.
template <class Scalar, backend::backend_policy Backend = backend::cpu>
struct student_workspace {
    index_t batch = 0;
    typename Backend::template buffer<Scalar> centered;         ///< x̃ [batch, d_in]; after backward, ∂loss/∂x̃
    typename Backend::template buffer<Scalar> pre_activation;   ///< z [batch, d_sae]
    typename Backend::template buffer<Scalar> activations;      ///< a [batch, d_sae]
    typename Backend::template buffer<Scalar> hidden_grad;      ///< ∂loss/∂a, then ∂loss/∂z
    typename Backend::template buffer<Scalar> prediction;       ///< ŷ [batch, d_out]
    typename Backend::template buffer<Scalar> prediction_grad;  ///< ∂loss/∂ŷ, written by the loss
    /// A training forward pass: BatchTopK selects over the batch (and reports smallest_kept); an
    /// inference pass applies its threshold. Set by gradients_and_sums.
    bool training = false;
    double smallest_kept = 0;                                   ///< BatchTopK: the last training selection's
    double threshold_window = 0;                                ///< JumpReLU: entries the last backward's kernel saw
    bool sparse = false;                                        ///< the last forward took the sparse path
    bool allow_sparse = true;                                   ///< false keeps every pass dense (a replayed step, backend::replay_step)
    typename Backend::sparse_pattern pattern;                   ///< its active pairs

    // AuxK (auxk_settings): the dead latents (1 = dead) and its buffers, reserved by student_mlp::auxk_forward.
    typename Backend::template buffer<Scalar> dead_mask;        ///< [d_sae], written by the trainer
    index_t dead_count = 0;                                     ///< how many entries of dead_mask are 1
    typename Backend::template buffer<Scalar> aux_activations;  ///< â [batch, d_sae]
    typename Backend::template buffer<Scalar> aux_prediction;   ///< ê + ŷ, then ∂(alpha·auxk)/∂ê [batch, d_out]
    typename Backend::template buffer<Scalar> aux_scratch;      ///< ȳ rows, then ∂auxk/∂â [batch, max(d_out, d_sae)]
    typename Backend::template buffer<Scalar> column_mean;      ///< ȳ [d_out]
    bool auxk_pending = false;                                  ///< auxk_forward ran: backward adds its gradients
    bool auxk_to_encoder = false;

    /// Grows the buffers for `rows` tokens; a smaller or equal batch reuses them without allocating.
    void reserve(index_t rows, const student_config& c) {
        if (rows > capacity_) {
            if (c.pre_bias != pre_bias::none) centered.resize(rows * c.d_in);
            pre_activation.resize(rows * c.d_sae);
            activations.resize(rows * c.d_sae);
            hidden_grad.resize(rows * c.d_sae);
            prediction.resize(rows * c.d_out);
            prediction_grad.resize(rows * c.d_out);
            capacity_ = rows;
        }
        batch = rows;
    }

private:
    index_t capacity_ = 0;
};

template <class Scalar, backend::backend_policy Backend = backend::cpu>
class student_mlp {
public:
    using scalar_type = Scalar;
    using backend_type = Backend;
    using workspace = student_workspace<Scalar, Backend>;

    /// A freshly initialised student (see student_init); the draws depend only on `seed`.
    student_mlp(const student_config& config, std::uint64_t seed) : config_(checked(config)) {
        allocate();
        load(initial_weights(seed));
    }

    /// A student with the given weights.
    student_mlp(const student_config& config, const student_weights<Scalar>& weights) : config_(checked(config)) {
        allocate();
        load(weights);
    }

    const student_config& config() const { return config_; }
    index_t d_in() const { return config_.d_in; }
    index_t d_sae() const { return config_.d_sae; }
    index_t d_out() const { return config_.d_out; }

    // --- flat parameter and gradient buffers ---
    Scalar* parameters() { return params_.data(); }
    const Scalar* parameters() const { return params_.data(); }
    Scalar* gradients() { return grads_.data(); }
    const Scalar* gradients() const { return grads_.data(); }
    index_t parameter_count() const { return params_.size(); }

    // --- views of the parameters (and, with the `_grad` twins, of their gradients) ---
    matrix_view<Scalar> w_enc() { return {params_.data() + off_w_enc_, config_.d_sae, config_.d_in}; }
    matrix_view<const Scalar> w_enc() const { return {params_.data() + off_w_enc_, config_.d_sae, config_.d_in}; }
    vector_view<Scalar> b_enc() { return {params_.data() + off_b_enc_, n_b_enc_}; }
    vector_view<const Scalar> b_enc() const { return {params_.data() + off_b_enc_, n_b_enc_}; }
    matrix_view<Scalar> w_dec() { return {params_.data() + off_w_dec_, config_.d_sae, config_.d_out}; }
    matrix_view<const Scalar> w_dec() const { return {params_.data() + off_w_dec_, config_.d_sae, config_.d_out}; }
    vector_view<Scalar> b_dec() { return {params_.data() + off_b_dec_, n_b_dec_}; }
    vector_view<const Scalar> b_dec() const { return {params_.data() + off_b_dec_, n_b_dec_}; }
    vector_view<Scalar> b_pre() { return {params_.data() + off_b_pre_, n_b_pre_}; }
    vector_view<const Scalar> b_pre() const { return {params_.data() + off_b_pre_, n_b_pre_}; }
    /// JumpReLU's log θ [d_sae] (empty for other modes).
    vector_view<Scalar> log_threshold() { return {params_.data() + off_log_threshold_, n_log_threshold_}; }
    vector_view<const Scalar> log_threshold() const { return {params_.data() + off_log_threshold_, n_log_threshold_}; }
    /// The skip connection's W_skip [d_in, d_out] (0 × 0 without one).
    matrix_view<Scalar> w_skip() { return {params_.data() + off_w_skip_, skip_rows(), skip_cols()}; }
    matrix_view<const Scalar> w_skip() const { return {params_.data() + off_w_skip_, skip_rows(), skip_cols()}; }

    matrix_view<Scalar> w_enc_grad() { return {grads_.data() + off_w_enc_, config_.d_sae, config_.d_in}; }
    vector_view<Scalar> b_enc_grad() { return {grads_.data() + off_b_enc_, n_b_enc_}; }
    matrix_view<Scalar> w_dec_grad() { return {grads_.data() + off_w_dec_, config_.d_sae, config_.d_out}; }
    vector_view<Scalar> b_dec_grad() { return {grads_.data() + off_b_dec_, n_b_dec_}; }
    vector_view<Scalar> b_pre_grad() { return {grads_.data() + off_b_pre_, n_b_pre_}; }
    vector_view<Scalar> log_threshold_grad() { return {grads_.data() + off_log_threshold_, n_log_threshold_}; }
    matrix_view<Scalar> w_skip_grad() { return {grads_.data() + off_w_skip_, skip_rows(), skip_cols()}; }

    /// BatchTopK's inference threshold τ (kept in double, as SAELens keeps it): an inference forward pass
    /// computes a = z·H(z − τ) for every latent. It starts at 0 and moves after every training forward
    /// pass (update_batch_threshold). A state, not a parameter: no gradient, no weight decay.
    double batch_threshold() const { return batch_threshold_; }
    void set_batch_threshold(double tau) {
        if (!(tau >= 0) || !std::isfinite(tau))
            throw std::invalid_argument("student_mlp: the BatchTopK threshold must be finite and non-negative (got " +
                                        std::to_string(tau) + ")");
        batch_threshold_ = tau;
    }
    /// After a training step on ws: τ ← (1 − rate)·τ + rate·(smallest activation kept), when one was kept.
    void update_batch_threshold(const workspace& ws) {
        if (config_.sparsity != sparsity_mode::batchtopk || !(ws.smallest_kept > 0)) return;
        batch_threshold_ = (1 - config_.threshold_rate) * batch_threshold_ + config_.threshold_rate * ws.smallest_kept;
    }

    /// Forward pass for x [batch, d_in]: fills ws.pre_activation, ws.activations and ws.prediction
    /// (after ws.reserve(batch, config())); returns Σ|a| and #(a > 0) for the loss.
    backend::activation_sums forward(matrix_view<const Scalar> x, workspace& ws) const {
        check_input(x, ws);
        const matrix_view<const Scalar> encoder_input = centre(x, ws);
        const matrix_view<Scalar> z = hidden_view(ws.pre_activation, x.rows);
        const matrix_view<Scalar> a = hidden_view(ws.activations, x.rows);
        const matrix_view<Scalar> y = output_view(ws.prediction, x.rows);
        backend::matmul<Backend>(encoder_input, false, w_enc(), true, z);
        const backend::activation_sums sums = activate(z, a, ws);
        ws.sparse = ws.allow_sparse && takes_sparse_path(sums.positive_count, x.rows);
        if (ws.sparse) {
            backend::collect_active<Backend, Scalar>(matrix_view<const Scalar>(a), ws.pattern);
            backend::sparse_decode<Backend>(matrix_view<const Scalar>(a), ws.pattern, w_dec(), y);
        }
        if (!ws.sparse) backend::matmul<Backend>(matrix_view<const Scalar>(a), false, w_dec(), false, y);
        backend::add_row_vector<Backend>(y, b_dec());
        if (config_.skip) backend::matmul<Backend>(x, false, w_skip(), false, y, Scalar(1), Scalar(1));
        ws.auxk_pending = false;
        return sums;
    }

    /// AuxK's forward pass (auxk_settings has the formula), after forward(x, ws) and before backward,
    /// with targets y and ws.dead_mask / ws.dead_count set: returns the term `auxk` (0 when no latent is
    /// dead) and Σ (y − ȳ)², and keeps what backward needs to add the term's gradient, alpha·∂auxk.
    std::pair<double, double> auxk_forward(in_matrix<Scalar> y, workspace& ws, const auxk_settings& settings) {
        const index_t rows = y.rows;
        ws.auxk_pending = false;
        const index_t k_base = settings.k > 0 ? settings.k : std::max<index_t>(1, config_.d_out / 2);
        const index_t k_aux = std::min({k_base, ws.dead_count, config_.d_sae});
        if (!settings.enabled() || k_aux <= 0) return {0.0, 0.0};
        if (ws.dead_mask.size() != config_.d_sae)
            throw std::logic_error("student_mlp::auxk_forward: the workspace's dead_mask has " +
                                   std::to_string(ws.dead_mask.size()) + " entries, expected d_sae = " + std::to_string(config_.d_sae));
        const index_t wide = std::max(config_.d_out, config_.d_sae);
        if (ws.aux_activations.size() < rows * config_.d_sae) {
            ws.aux_activations.resize(rows * config_.d_sae);
            ws.aux_prediction.resize(rows * config_.d_out);
            ws.aux_scratch.resize(rows * wide);
            ws.column_mean.resize(config_.d_out);
        }
        const matrix_view<Scalar> aux_a = hidden_view(ws.aux_activations, rows);
        const matrix_view<Scalar> aux_y{ws.aux_prediction.data(), rows, config_.d_out};
        const matrix_view<Scalar> mean_rows{ws.aux_scratch.data(), rows, config_.d_out};
        const vector_view<Scalar> mean{ws.column_mean.data(), config_.d_out};

        // Σ (y − ȳ)²: the variance the residual is measured against.
        backend::column_sums<Backend>(y, mean, Scalar(1.0 / double(rows)));
        ws.aux_scratch.set_zero();
        backend::add_row_vector<Backend>(mean_rows, in_vector<Scalar>(mean));
        const double total_variance = backend::squared_error_gradient<Backend>(y, matrix_view<const Scalar>(mean_rows), aux_y, Scalar(0));
        if (!(total_variance > 0)) return {0.0, total_variance};

        // â: relu(z) on the dead latents, the k_aux largest of each token; ê − e = â·W_dec + b_dec + ŷ − y.
        backend::masked_relu<Backend>(matrix_view<const Scalar>(hidden_view(ws.pre_activation, rows)),
                                      in_vector<Scalar>{ws.dead_mask.data(), config_.d_sae}, aux_a);
        backend::keep_top_k_per_row<Backend>(aux_a, k_aux);
        backend::matmul<Backend>(matrix_view<const Scalar>(aux_a), false, w_dec(), false, aux_y);
        backend::add_row_vector<Backend>(aux_y, b_dec());
        backend::add_elementwise<Backend>(aux_y, matrix_view<const Scalar>(output_view(ws.prediction, rows)));
        const double scale = std::min(double(ws.dead_count) / double(k_base), 1.0);
        const double squared = backend::squared_error_gradient<Backend>(
            matrix_view<const Scalar>(aux_y), y, aux_y, Scalar(2 * settings.alpha * scale / total_variance));
        ws.auxk_pending = true;
        ws.auxk_to_encoder = settings.to_encoder;
        return {scale * squared / total_variance, total_variance};
    }

    /// Backward pass after `forward(x, ws)` and after the loss wrote ∂loss/∂ŷ into ws.prediction_grad
    /// (and ran auxk_forward, when it has AuxK). Overwrites gradients():
    ///   ∂W_dec = aᵀ·∂ŷ,  ∂b_dec = Σ_b ∂ŷ,  ∂a = ∂ŷ·W_decᵀ,  ∂z = (∂a + penalty.l1·sign(a)) ⊙ act'(z)
    ///   (the selecting modes: ∂a on the kept entries, a ≠ 0),
    ///   ∂W_enc = ∂zᵀ·x̃,  ∂b_enc = Σ_b ∂z,  ∂b_pre = −Σ_b ∂z·W_enc  (to b_dec when tied),
    ///   ∂W_skip = xᵀ·∂ŷ,  ∂log θ from ∂a and penalty.l0 by threshold_gradient (JumpReLU),
    /// plus AuxK's alpha·∂auxk: ∂W_dec += âᵀ·∂ê, ∂b_dec += Σ_b ∂ê and, to the encoder, ∂â = ∂ê·W_decᵀ on â > 0.
    void backward(matrix_view<const Scalar> x, workspace& ws, const penalty_gradients& penalty) {
        const Scalar l1_grad = Scalar(penalty.l1);
        check_input(x, ws);
        const index_t rows = x.rows;
        const matrix_view<const Scalar> encoder_input =
            config_.pre_bias == pre_bias::none ? x : matrix_view<const Scalar>(centred_view(ws, rows));
        const matrix_view<const Scalar> z = hidden_view(ws.pre_activation, rows);
        const matrix_view<const Scalar> a = hidden_view(ws.activations, rows);
        const matrix_view<const Scalar> dy = output_view(ws.prediction_grad, rows);
        const matrix_view<Scalar> dz = hidden_view(ws.hidden_grad, rows);

        if (config_.skip) backend::matmul<Backend>(x, true, dy, false, w_skip_grad());
        if (ws.sparse) {
            sparse_backward(encoder_input, a, dy, ws, l1_grad);
            add_auxk_gradients(encoder_input, ws);
            return;
        }
        backend::matmul<Backend>(a, true, dy, false, w_dec_grad());
        if (config_.biases) backend::column_sums<Backend>(dy, b_dec_grad());
        backend::matmul<Backend>(dy, false, matrix_view<const Scalar>(w_dec()), true, dz);
        if (config_.sparsity == sparsity_mode::jumprelu)
            ws.threshold_window = backend::threshold_gradient<Backend>(matrix_view<const Scalar>(dz), z, log_threshold(),
                                                                      Scalar(penalty.bandwidth), Scalar(penalty.l0),
                                                                      log_threshold_grad());
        backend::activation_backward<Backend>(dz, z, a, config_.act, l1_grad);
        backend::matmul<Backend>(matrix_view<const Scalar>(dz), true, encoder_input, false, w_enc_grad());
        if (config_.biases) backend::column_sums<Backend>(matrix_view<const Scalar>(dz), b_enc_grad());
        // AuxK before the pre-bias gradient overwrites x̃ (AuxK to the encoder needs no pre-bias: validate_training).
        add_auxk_gradients(encoder_input, ws);
        if (config_.pre_bias != pre_bias::none) {
            // x̃ is no longer needed: its buffer receives ∂loss/∂x̃ = ∂z·W_enc.
            const matrix_view<Scalar> dx = centred_view(ws, rows);
            backend::matmul<Backend>(matrix_view<const Scalar>(dz), false, w_enc(), false, dx);
            if (config_.pre_bias == pre_bias::learned)
                backend::column_sums<Backend>(matrix_view<const Scalar>(dx), b_pre_grad(), Scalar(-1));
            else
                backend::column_sums<Backend>(matrix_view<const Scalar>(dx), b_dec_grad(), Scalar(-1), Scalar(1));
        }
    }

    /// Where the decoder rows lie in parameters(), with config().decoder_norm: what an optimizer
    /// needs to apply the constraint in its own pass (optim::adam_state::update).
    optim::constrained_rows decoder_rows() const {
        return {off_w_dec_, config_.d_sae, config_.d_out, config_.decoder_norm};
    }

    /// The parameters of each feature as row blocks of the flat buffer: W_enc's rows, b_enc's entries (rows of
    /// one) and W_dec's rows; what lazy Adam (adam::lazy_silent_features) skips for a feature that did not fire.
    optim::lazy_rows feature_rows() const {
        optim::lazy_rows rows;
        rows.blocks[0] = {off_w_enc_, config_.d_sae, config_.d_in};
        rows.blocks[1] = {off_b_enc_, n_b_enc_, n_b_enc_ > 0 ? 1 : 0};
        rows.blocks[2] = {off_w_dec_, config_.d_sae, config_.d_out};
        rows.count = 3;
        return rows;
    }

    /// Applies config().decoder_norm to the decoder rows.
    void apply_decoder_constraint() { backend::constrain_rows<Backend>(w_dec(), config_.decoder_norm); }

    /// Host copy of the weights.
    student_weights<Scalar> weights() const {
        student_weights<Scalar> w;
        w.w_enc.resize(config_.d_sae, config_.d_in);
        w.w_dec.resize(config_.d_sae, config_.d_out);
        w.b_enc.resize(n_b_enc_);
        w.b_dec.resize(n_b_dec_);
        w.b_pre.resize(n_b_pre_);
        w.log_threshold.resize(n_log_threshold_);
        w.w_skip.resize(skip_rows(), skip_cols());
        backend::copy_to_host<Backend>(log_threshold().data, w.log_threshold.data(), n_log_threshold_);
        backend::copy_to_host<Backend>(w_skip().data, w.w_skip.data(), w.w_skip.size());
        backend::copy_to_host<Backend>(w_enc().data, w.w_enc.data(), w.w_enc.size());
        backend::copy_to_host<Backend>(w_dec().data, w.w_dec.data(), w.w_dec.size());
        backend::copy_to_host<Backend>(b_enc().data, w.b_enc.data(), n_b_enc_);
        backend::copy_to_host<Backend>(b_dec().data, w.b_dec.data(), n_b_dec_);
        backend::copy_to_host<Backend>(b_pre().data, w.b_pre.data(), n_b_pre_);
        return w;
    }

    /// Replaces the weights; throws std::invalid_argument naming the field whose shape is wrong.
    void load(const student_weights<Scalar>& w) {
        expect_shape("w_enc", w.w_enc.rows(), w.w_enc.cols(), config_.d_sae, config_.d_in);
        expect_shape("w_dec", w.w_dec.rows(), w.w_dec.cols(), config_.d_sae, config_.d_out);
        expect_shape("b_enc", w.b_enc.size(), 1, n_b_enc_, 1);
        expect_shape("b_dec", w.b_dec.size(), 1, n_b_dec_, 1);
        expect_shape("b_pre", w.b_pre.size(), 1, n_b_pre_, 1);
        expect_shape("log_threshold", w.log_threshold.size(), 1, n_log_threshold_, 1);
        expect_shape("w_skip", w.w_skip.rows(), w.w_skip.cols(), skip_rows(), skip_cols());
        backend::copy_from_host<Backend>(w.log_threshold.data(), log_threshold().data, n_log_threshold_);
        backend::copy_from_host<Backend>(w.w_skip.data(), w_skip().data, w.w_skip.size());
        backend::copy_from_host<Backend>(w.w_enc.data(), w_enc().data, w.w_enc.size());
        backend::copy_from_host<Backend>(w.w_dec.data(), w_dec().data, w.w_dec.size());
        backend::copy_from_host<Backend>(w.b_enc.data(), b_enc().data, n_b_enc_);
        backend::copy_from_host<Backend>(w.b_dec.data(), b_dec().data, n_b_dec_);
        backend::copy_from_host<Backend>(w.b_pre.data(), b_pre().data, n_b_pre_);
    }

    /// Host convenience: the feature activations a [rows, d_sae] for host inputs.
    matrix<Scalar> encode(const matrix<Scalar>& x) const { return run_host(x).first; }
    /// Host convenience: the reconstruction ŷ [rows, d_out] for host inputs.
    matrix<Scalar> predict(const matrix<Scalar>& x) const { return run_host(x).second; }

    /// The initial weights that student_mlp(config, seed) starts from (host).
    student_weights<Scalar> initial_weights(std::uint64_t seed) const;

private:
    static const student_config& checked(const student_config& c) {
        c.validate();
        return c;
    }

    void allocate() {
        n_b_enc_ = config_.biases ? config_.d_sae : 0;
        n_b_dec_ = config_.biases ? config_.d_out : 0;
        n_b_pre_ = config_.pre_bias == pre_bias::learned ? config_.d_in : 0;
        n_log_threshold_ = config_.sparsity == sparsity_mode::jumprelu ? config_.d_sae : 0;
        off_w_enc_ = 0;
        off_b_enc_ = off_w_enc_ + config_.d_sae * config_.d_in;
        off_w_dec_ = off_b_enc_ + n_b_enc_;
        off_b_dec_ = off_w_dec_ + config_.d_sae * config_.d_out;
        off_b_pre_ = off_b_dec_ + n_b_dec_;
        off_log_threshold_ = off_b_pre_ + n_b_pre_;
        off_w_skip_ = off_log_threshold_ + n_log_threshold_;
        const index_t total = off_w_skip_ + skip_rows() * skip_cols();
        params_.resize(total);
        grads_.resize(total);
    }

    static void expect_shape(const char* field, index_t rows, index_t cols, index_t want_rows, index_t want_cols) {
        if (rows != want_rows || cols != want_cols)
            throw std::invalid_argument(std::string("student weights: ") + field + " is [" + std::to_string(rows) +
                                        ", " + std::to_string(cols) + "], expected [" + std::to_string(want_rows) +
                                        ", " + std::to_string(want_cols) + "]");
    }

    void check_input(matrix_view<const Scalar> x, const workspace& ws) const {
        if (x.cols != config_.d_in)
            throw std::invalid_argument("student_mlp: input has " + std::to_string(x.cols) +
                                        " columns, expected d_in = " + std::to_string(config_.d_in));
        if (x.rows != ws.batch)
            throw std::invalid_argument("student_mlp: input has " + std::to_string(x.rows) +
                                        " rows but the workspace was reserved for " + std::to_string(ws.batch));
    }

    matrix_view<Scalar> hidden_view(typename Backend::template buffer<Scalar>& b, index_t rows) const {
        return {b.data(), rows, config_.d_sae};
    }
    matrix_view<Scalar> output_view(typename Backend::template buffer<Scalar>& b, index_t rows) const {
        return {b.data(), rows, config_.d_out};
    }
    matrix_view<Scalar> centred_view(workspace& ws, index_t rows) const { return {ws.centered.data(), rows, config_.d_in}; }

    /// Exact zeros where inactive, derivative 1 where active (ReLU and the selecting modes) and few
    /// active pairs. JumpReLU stays dense: its threshold gradient needs ∂a on inactive entries too.
    bool takes_sparse_path(double active, index_t rows) const {
        return config_.act == activation::relu && config_.sparsity != sparsity_mode::jumprelu &&
               active < config_.sparse_below_density * double(rows) * double(config_.d_sae);
    }

    /// a from z = x̃·W_encᵀ (the bias is added here) by the sparsity mode; Σ|a| and #(a > 0).
    backend::activation_sums activate(matrix_view<Scalar> z, matrix_view<Scalar> a, workspace& ws) const {
        switch (config_.sparsity) {
            case sparsity_mode::l1: return backend::bias_activate<Backend>(z, b_enc(), config_.act, a);
            case sparsity_mode::topk:
                backend::bias_activate<Backend>(z, b_enc(), activation::relu, a);
                return backend::keep_top_k_per_row<Backend>(a, config_.k);
            case sparsity_mode::batchtopk:
                if (ws.training) {
                    backend::bias_activate<Backend>(z, b_enc(), activation::relu, a);
                    const backend::batch_selection kept = backend::keep_top_k_of_batch<Backend>(a, config_.kept_per_batch(z.rows));
                    ws.smallest_kept = kept.smallest_kept;
                    return kept.sums;
                }
                return backend::jump_activate<Backend>(z, b_enc(), in_vector<Scalar>{}, Scalar(batch_threshold_), a);
            case sparsity_mode::jumprelu:
                return backend::jump_activate<Backend>(z, b_enc(), log_threshold(), Scalar(0), a);
        }
        throw std::logic_error("student_mlp: unknown sparsity mode");
    }

    /// AuxK's gradients (auxk_forward has kept ∂ê = alpha·∂auxk/∂ê in ws.aux_prediction), added to the
    /// main ones.
    void add_auxk_gradients(matrix_view<const Scalar> encoder_input, workspace& ws) {
        if (!ws.auxk_pending) return;
        const index_t rows = encoder_input.rows;
        const matrix_view<const Scalar> aux_a = hidden_view(ws.aux_activations, rows);
        const matrix_view<const Scalar> aux_dy{ws.aux_prediction.data(), rows, config_.d_out};
        backend::matmul<Backend>(aux_a, true, aux_dy, false, w_dec_grad(), Scalar(1), Scalar(1));
        if (config_.biases) backend::column_sums<Backend>(aux_dy, b_dec_grad(), Scalar(1), Scalar(1));
        if (!ws.auxk_to_encoder) return;
        const matrix_view<Scalar> aux_dz = hidden_view(ws.aux_scratch, rows);
        backend::matmul<Backend>(aux_dy, false, matrix_view<const Scalar>(w_dec()), true, aux_dz);
        backend::activation_backward<Backend>(aux_dz, aux_a, aux_a, activation::relu, Scalar(0));
        backend::matmul<Backend>(matrix_view<const Scalar>(aux_dz), true, encoder_input, false, w_enc_grad(), Scalar(1), Scalar(1));
        if (config_.biases) backend::column_sums<Backend>(matrix_view<const Scalar>(aux_dz), b_enc_grad(), Scalar(1), Scalar(1));
    }

    index_t skip_rows() const { return config_.skip ? config_.d_in : 0; }
    index_t skip_cols() const { return config_.skip ? config_.d_out : 0; }

    /// backward() on the active pairs; the same gradients as the dense path.
    void sparse_backward(matrix_view<const Scalar> encoder_input, matrix_view<const Scalar> a, matrix_view<const Scalar> dy,
                         workspace& ws, Scalar l1_grad) {
        backend::sparse_backward<Backend>(a, ws.pattern, dy, matrix_view<const Scalar>(w_dec()), encoder_input, l1_grad, w_dec_grad(),
                                 w_enc_grad());
        if (config_.biases) backend::column_sums<Backend>(dy, b_dec_grad());
        // ∂b_enc = Σ_r ∂z_r; Σ_r ∂x̃_r = (Σ_r ∂z_r)·W_enc, whose negative is the pre-bias gradient
        // (added to ∂b_dec when the pre-bias is tied to b_dec).
        const bool pre = config_.pre_bias != pre_bias::none, tied = config_.pre_bias == pre_bias::tied_decoder;
        backend::sparse_bias_gradients<Backend>(ws.pattern, w_enc(), config_.biases ? b_enc_grad() : vector_view<Scalar>{},
                                       pre ? (tied ? b_dec_grad() : b_pre_grad()) : vector_view<Scalar>{}, tied);
    }

    /// The encoder's input: x itself, or x − b_pre / x − b_dec written into the workspace.
    matrix_view<const Scalar> centre(matrix_view<const Scalar> x, workspace& ws) const {
        if (config_.pre_bias == pre_bias::none) return x;
        const matrix_view<Scalar> centred = centred_view(ws, x.rows);
        backend::subtract_row_vector<Backend>(x, config_.pre_bias == pre_bias::learned ? b_pre() : b_dec(), centred);
        return centred;
    }

    std::pair<matrix<Scalar>, matrix<Scalar>> run_host(const matrix<Scalar>& x) const {
        workspace ws;
        ws.reserve(x.rows(), config_);
        typename Backend::template buffer<Scalar> xb(x.size());
        backend::copy_from_host<Backend>(x.data(), xb.data(), x.size());
        forward(matrix_view<const Scalar>{xb.data(), x.rows(), x.cols()}, ws);
        std::pair<matrix<Scalar>, matrix<Scalar>> out{matrix<Scalar>(x.rows(), config_.d_sae),
                                                      matrix<Scalar>(x.rows(), config_.d_out)};
        backend::copy_to_host<Backend>(ws.activations.data(), out.first.data(), out.first.size());
        backend::copy_to_host<Backend>(ws.prediction.data(), out.second.data(), out.second.size());
        return out;
    }

    student_config config_;
    typename Backend::template buffer<Scalar> params_;
    typename Backend::template buffer<Scalar> grads_;
    index_t off_w_enc_ = 0, off_b_enc_ = 0, off_w_dec_ = 0, off_b_dec_ = 0, off_b_pre_ = 0, off_log_threshold_ = 0, off_w_skip_ = 0;
    index_t n_b_enc_ = 0, n_b_dec_ = 0, n_b_pre_ = 0, n_log_threshold_ = 0;
    double batch_threshold_ = 0;  ///< BatchTopK's τ
};

template <class Scalar, backend::backend_policy Backend>
student_weights<Scalar> student_mlp<Scalar, Backend>::initial_weights(std::uint64_t seed) const {
    enum stream : std::uint64_t { w_enc_stream = 201, b_enc_stream, w_dec_stream, b_dec_stream, threshold_stream, skip_stream };
    const student_config& c = config_;
    student_weights<Scalar> w;
    w.w_enc = matrix<Scalar>::Zero(c.d_sae, c.d_in);
    w.w_dec = matrix<Scalar>::Zero(c.d_sae, c.d_out);
    w.b_enc = vector<Scalar>::Zero(n_b_enc_);
    w.b_dec = vector<Scalar>::Zero(n_b_dec_);
    w.b_pre = vector<Scalar>::Zero(n_b_pre_);
    w.log_threshold = vector<Scalar>::Constant(n_log_threshold_, Scalar(std::log(c.threshold_init)));
    if (n_log_threshold_ > 0 && c.threshold_init_logstd > 0) {
        vector<Scalar> spread(n_log_threshold_);
        random::fill_normal(spread, random::counter_rng(seed, threshold_stream), 0, c.threshold_init_logstd);
        w.log_threshold += spread;
    }
    w.w_skip = matrix<Scalar>::Zero(skip_rows(), skip_cols());
    if (c.skip && c.skip_init_scale > 0)
        random::fill_normal(w.w_skip, random::counter_rng(seed, skip_stream), 0, c.skip_init_scale / std::sqrt(double(c.d_in)));
    const random::counter_rng enc_rng(seed, w_enc_stream), dec_rng(seed, w_dec_stream);
    switch (c.init) {
        case student_init::kaiming_uniform: {
            const double enc_bound = std::sqrt(6.0 / double(c.d_sae)), dec_bound = std::sqrt(6.0 / double(c.d_out));
            random::fill_uniform(w.w_enc, enc_rng, -enc_bound, enc_bound);
            random::fill_uniform(w.w_dec, dec_rng, -dec_bound, dec_bound);
            break;
        }
        case student_init::tied_transpose: {
            random::fill_normal(w.w_dec, dec_rng);
            w.w_dec.rowwise().normalize();
            w.w_dec *= Scalar(c.tied_init_norm);
            w.w_enc = w.w_dec;
            break;
        }
        case student_init::linear_default: {
            const double enc_bound = 1.0 / std::sqrt(double(c.d_in)), dec_bound = 1.0 / std::sqrt(double(c.d_sae));
            random::fill_uniform(w.w_enc, enc_rng, -enc_bound, enc_bound);
            random::fill_uniform(w.w_dec, dec_rng, -dec_bound, dec_bound);
            random::fill_uniform(w.b_enc, random::counter_rng(seed, b_enc_stream), -enc_bound, enc_bound);
            random::fill_uniform(w.b_dec, random::counter_rng(seed, b_dec_stream), -dec_bound, dec_bound);
            break;
        }
    }
    // The post's code (and SAELens) start from a decoder that already satisfies the constraint.
    if (c.init == student_init::kaiming_uniform) backend::constrain_rows<backend::cpu>(view(w.w_dec), c.decoder_norm);
    return w;
}

}  // namespace sparse_distill
