#pragma once
// What a backend is: a policy type (backend::cpu, backend::cuda, ...) that names its memory and derives
// from a tag of its own namespace, where every op of the interface is a free function taking that tag
// first. Code written against a backend calls the checked front-end (backend/ops.hpp), which finds the
// backend's function by argument-dependent lookup, as Thrust's algorithms find a system's.
//
// A new backend: a namespace `backend::<name>_system` with a `tag` and the ops below (one file per op,
// paired with cpu/<op>.hpp), and a policy struct deriving from the tag; `static_assert(backend_policy<P>)`
// then says which op is missing.
#include "../nn/activation.hpp"
#include "../nn/decoder_norm.hpp"
#include "../optim/adam_update_args.hpp"
#include "../tensor/view.hpp"
#include "activation_sums.hpp"
#include "step_sums.hpp"

#include <concepts>
#include <utility>

namespace sparse_distill::backend {

namespace detail {
/// The shape of the work replay_step runs: one step's queued launches, returning its sums.
struct queued_step {
    step_sums operator()() const { return {}; }
};

/// Every op of the interface, for one scalar type, each called as the front-end calls it.
template <class Backend, class Scalar>
concept provides_ops_for = requires(Backend b, matrix_view<const Scalar> in, matrix_view<Scalar> out,
                                    vector_view<const Scalar> in_vec, vector_view<Scalar> out_vec, Scalar s,
                                    Scalar* p, const Scalar* cp, index_t n, activation act, decoder_norm norm,
                                    const optim::adam_update_args& args, typename Backend::sparse_pattern& pattern) {
    // data movement
    copy_from_host(b, cp, p, n);
    copy_to_host(b, cp, p, n);
    synchronize(b);
    // products and reductions
    matmul(b, in, true, in, false, out, s, s);
    column_sums(b, in, out_vec, s, s);
    // elementwise
    subtract_row_vector(b, in, in_vec, out);
    add_row_vector(b, out, in_vec);
    multiply_elementwise(b, out, in);
    add_elementwise(b, out, in);
    { bias_activate(b, out, in_vec, act, out) } -> std::same_as<activation_sums>;
    { squared_error_gradient(b, in, in, out, s) } -> std::convertible_to<double>;
    activation_backward(b, out, in, in, act, s);
    // the sparse architectures (nn/sparsity.hpp)
    { keep_top_k_per_row(b, out, n) } -> std::same_as<activation_sums>;
    { keep_top_k_of_batch(b, out, n) } -> std::same_as<batch_selection>;
    { jump_activate(b, out, in_vec, in_vec, s, out) } -> std::same_as<activation_sums>;
    { threshold_gradient(b, in, in, in_vec, s, s, out_vec) } -> std::convertible_to<double>;
    masked_relu(b, in, in_vec, out);
    // parameter updates
    adam_update(b, p, cp, p, p, n, args);
    constrain_rows(b, out, norm);
    // the sparse path of a ReLU student
    collect_active(b, in, pattern);
    sparse_decode(b, in, std::as_const(pattern), in, out);
    sparse_backward(b, in, pattern, in, in, in, s, out, out);
    sparse_bias_gradients(b, std::as_const(pattern), in, out_vec, out_vec, true);
};

/// The ops that do not depend on the scalar type.
template <class Backend>
concept provides_step_replay = requires(Backend b, typename Backend::step_recording& recording) {
    { replay_step(b, recording, queued_step{}) } -> std::same_as<step_sums>;
    { std::as_const(recording).captured() } -> std::convertible_to<bool>;
};
}  // namespace detail

/// A backend policy: its name, its owning buffer `buffer<Scalar>` (resize, data, size, set_zero), the
/// sparse path's `sparse_pattern`, a recorded training step `step_recording` (for replay_step), and
/// every op for float and double.
template <class Backend>
concept backend_policy = std::default_initializable<Backend> && requires {
    { Backend::name } -> std::convertible_to<const char*>;
    typename Backend::template buffer<float>;
    typename Backend::template buffer<double>;
    typename Backend::sparse_pattern;
    typename Backend::step_recording;
} && detail::provides_ops_for<Backend, float> && detail::provides_ops_for<Backend, double> &&
                         detail::provides_step_replay<Backend>;

/// Whether a backend's memory is the host's (a policy says so with `static constexpr bool host_memory = true`):
/// then a batch the host wrote can be used where it lies, without a copy into backend memory.
template <class Backend>
inline constexpr bool memory_is_host = [] {
    if constexpr (requires { Backend::host_memory; }) return bool(Backend::host_memory);
    else return false;
}();

}  // namespace sparse_distill::backend
