#pragma once
// The CUDA backend policy: the same static operations as backend::cpu (cpu.hpp), with the same
// names and argument order, on device memory. `student_mlp<float, backend::cuda>` trains exactly like
// `student_mlp<float, backend::cpu>`. Opt-in: include this header only from files that nvcc compiles
// (SD_ENABLE_CUDA in CMake); the umbrella header never includes it.
//
// Views passed to these operations point to device memory (a policy's `buffer`); copy_from_host and
// copy_to_host move data across. Every op is queued on one stream (cuda/context.cuh); ops that return
// a host value (bias_activate's sums, the squared error) wait for it. The backend's state is
// process-wide: drive it from one host thread at a time.
#if !defined(__CUDACC__)
#error "sparse_distill/backend/cuda.hpp needs nvcc: compile this file as CUDA (CMake: SD_ENABLE_CUDA, a .cu source)"
#endif

#include "../config.hpp"
#include "cuda/activation.cuh"
#include "cuda/adam.cuh"
#include "cuda/buffer.cuh"
#include "cuda/column_sums.cuh"
#include "cuda/context.cuh"
#include "cuda/matmul.cuh"
#include "cuda/pointwise.cuh"
#include "cuda/sparse.cuh"
#include "cuda/squared_error.cuh"

#include <type_traits>

namespace sparse_distill::backend {

/// Device memory, cuBLAS products, fused kernels. `Precision` says how float products run on the
/// tensor cores (fp32, tf32 or bf16 operands, always fp32 accumulate); double is always fp64.
template <matmul_precision Precision>
struct cuda_policy {
    static constexpr const char* name = Precision == matmul_precision::fp32   ? "cuda"
                                        : Precision == matmul_precision::tf32 ? "cuda_tf32"
                                                                              : "cuda_bf16";
    static constexpr matmul_precision precision = Precision;

    template <class Scalar>
    using buffer = detail::device_buffer<Scalar>;

    // --- data movement (host ↔ device, on the backend's stream) ---
    /// Queued. Pageable `host` memory (std::vector, Eigen) may be reused as soon as this returns, since
    /// the runtime stages it first; page-locked memory must not change until the stream has reached the copy.
    template <class Scalar>
    static void copy_from_host(const std::type_identity_t<Scalar>* host, Scalar* dst, index_t n) {
        if (n > 0)
            detail::cuda_check(cudaMemcpyAsync(dst, host, sizeof(Scalar) * static_cast<std::size_t>(n), cudaMemcpyHostToDevice,
                                               detail::cuda_context::get().stream()),
                               "cudaMemcpyAsync(host to device)");
    }
    /// Waits for the copy (and everything queued before it).
    template <class Scalar>
    static void copy_to_host(const std::type_identity_t<Scalar>* src, Scalar* host, index_t n) {
        if (n <= 0) return;
        detail::cuda_context& ctx = detail::cuda_context::get();
        detail::cuda_check(cudaMemcpyAsync(host, src, sizeof(Scalar) * static_cast<std::size_t>(n), cudaMemcpyDeviceToHost,
                                           ctx.stream()),
                           "cudaMemcpyAsync(device to host)");
        ctx.synchronize();
    }
    /// Waits until every queued op has finished (for timing, or before reading memory another way).
    static void synchronize() { detail::cuda_context::get().synchronize(); }

    // --- products and reductions ---
    /// c = alpha·op(a)·op(b) + beta·c.
    template <class Scalar>
    static void matmul(in_matrix<Scalar> a, bool transpose_a, in_matrix<Scalar> b, bool transpose_b, matrix_view<Scalar> c,
                       Scalar alpha = Scalar(1), Scalar beta = Scalar(0)) {
        detail::cuda_matmul(a, transpose_a, b, transpose_b, c, alpha, beta, Precision);
    }
    /// out[c] = alpha·Σ_r m[r, c] + beta·out[c].
    template <class Scalar>
    static void column_sums(in_matrix<Scalar> m, vector_view<Scalar> out, Scalar alpha = Scalar(1), Scalar beta = Scalar(0)) {
        detail::cuda_column_sums(m, out, alpha, beta);
    }

    // --- elementwise ---
    template <class Scalar>
    static void subtract_row_vector(in_matrix<Scalar> x, in_vector<Scalar> b, matrix_view<Scalar> out) {
        detail::cuda_subtract_row_vector(x, b, out);
    }
    template <class Scalar>
    static void add_row_vector(matrix_view<Scalar> m, in_vector<Scalar> b) {
        detail::cuda_add_row_vector(m, b);
    }
    /// m ⊙= other, elementwise.
    template <class Scalar>
    static void multiply_elementwise(matrix_view<Scalar> m, in_matrix<Scalar> other) {
        detail::cuda_multiply_elementwise(m, other);
    }
    /// z += bias; a = act(z); returns Σ|a| and #(a > 0) (NaN while a graph is captured).
    template <class Scalar>
    static activation_sums bias_activate(matrix_view<Scalar> z, in_vector<Scalar> bias, activation act, matrix_view<Scalar> a) {
        return detail::cuda_bias_activate(z, bias, act, a);
    }
    /// grad = scale·(prediction − target); returns Σ (prediction − target)² (NaN while captured).
    template <class Scalar>
    static double squared_error_gradient(in_matrix<Scalar> prediction, in_matrix<Scalar> target, matrix_view<Scalar> grad,
                                         Scalar scale) {
        return detail::cuda_squared_error_gradient(prediction, target, grad, scale);
    }
    /// grad ← (grad + l1_grad·sign(a)) ⊙ act'(z), in place.
    template <class Scalar>
    static void activation_backward(matrix_view<Scalar> grad, in_matrix<Scalar> z, in_matrix<Scalar> a, activation act,
                                    Scalar l1_grad) {
        detail::cuda_activation_backward(grad, z, a, act, l1_grad);
    }

    // --- parameter updates ---
    template <class Scalar>
    static void adam_update(Scalar* params, const std::type_identity_t<Scalar>* grads, Scalar* m, Scalar* v, index_t n,
                            const optim::adam_update_args& args) {
        detail::cuda_adam_update(params, grads, m, v, n, args);
    }
    template <class Scalar>
    static void constrain_rows(matrix_view<Scalar> w, decoder_norm mode) {
        detail::cuda_constrain_rows(w, mode);
    }

    // --- the sparse path of a ReLU student (cuda/sparse.cuh) ---
    using sparse_pattern = detail::cuda_active_pattern;
    template <class Scalar>
    static void collect_active(in_matrix<Scalar> a, sparse_pattern& p) {
        detail::cuda_collect_active(a, p);
    }
    template <class Scalar>
    static void sparse_decode(in_matrix<Scalar> a, const sparse_pattern& p, in_matrix<Scalar> w_dec, matrix_view<Scalar> y) {
        detail::cuda_sparse_decode(a, p, w_dec, y);
    }
    template <class Scalar>
    static void sparse_backward(in_matrix<Scalar> a, sparse_pattern& p, in_matrix<Scalar> dy, in_matrix<Scalar> w_dec,
                                in_matrix<Scalar> x, Scalar l1_grad, matrix_view<Scalar> w_dec_grad,
                                matrix_view<Scalar> w_enc_grad) {
        detail::cuda_sparse_backward(a, p, dy, w_dec, x, l1_grad, w_dec_grad, w_enc_grad);
    }
    template <class Scalar>
    static void sparse_bias_gradients(const sparse_pattern& p, in_matrix<Scalar> w_enc, vector_view<Scalar> b_enc_grad,
                                      vector_view<Scalar> pre_grad, bool accumulate) {
        detail::cuda_sparse_bias_gradients(p, w_enc, b_enc_grad, pre_grad, accumulate);
    }
};

/// fp32 products: the reference CUDA backend.
using cuda = cuda_policy<matmul_precision::fp32>;
/// tf32 tensor-core products (about 3e-4 relative error per product).
using cuda_tf32 = cuda_policy<matmul_precision::tf32>;
/// bf16 tensor-core products with fp32 accumulation (about 4e-3 relative error per product).
using cuda_bf16 = cuda_policy<matmul_precision::bf16>;

/// Whether this process sees a CUDA device.
inline bool cuda_device_available() { return detail::cuda_device_available(); }

}  // namespace sparse_distill::backend
