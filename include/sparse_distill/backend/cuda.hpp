#pragma once
// The CUDA backend policy: device memory, cuBLAS products, fused kernels. Its ops live in cuda/, one file
// per op, each the twin of the CPU backend's cpu/<op>.hpp, and are called through the same checked
// front-end (ops.hpp), so `student_mlp<float, backend::cuda>` trains exactly like
// `student_mlp<float, backend::cpu>`. Opt-in: include this header only from files that nvcc compiles
// (SD_ENABLE_CUDA in CMake); the umbrella header never includes it.
//
// Views passed to the ops point to device memory (a policy's `buffer`); copy_from_host and copy_to_host
// move data across. Every op is queued on one stream (cuda/context.cuh); ops that return a host value
// (bias_activate's sums, the squared error) wait for it. The backend's state is process-wide: drive it
// from one host thread at a time.
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
#include "cuda/memory.cuh"
#include "cuda/pointwise.cuh"
#include "cuda/selection.cuh"
#include "cuda/sparse.cuh"
#include "cuda/squared_error.cuh"
#include "cuda/step_replay.cuh"
#include "cuda/tag.cuh"
#include "ops.hpp"
#include "policy.hpp"

namespace sparse_distill::backend {

/// Device memory, cuBLAS products, fused kernels. `Precision` says how float products run on the
/// tensor cores (fp32, tf32 or bf16 operands, always fp32 accumulate); double is always fp64.
template <matmul_precision Precision>
struct cuda_policy : cuda_system::precision_tag<Precision> {
    static constexpr const char* name = Precision == matmul_precision::fp32   ? "cuda"
                                        : Precision == matmul_precision::tf32 ? "cuda_tf32"
                                                                              : "cuda_bf16";
    template <class Scalar>
    using buffer = cuda_system::device_buffer<Scalar>;
    /// The active (token, feature) pairs of a step, in device memory (cuda/sparse.cuh).
    using sparse_pattern = cuda_system::cuda_active_pattern;
    /// A training step recorded as a CUDA graph (replay_step, cuda/step_replay.cuh).
    using step_recording = cuda_system::step_recording;
};

/// fp32 products: the reference CUDA backend.
using cuda = cuda_policy<matmul_precision::fp32>;
/// tf32 tensor-core products (about 3e-4 relative error per product).
using cuda_tf32 = cuda_policy<matmul_precision::tf32>;
/// bf16 tensor-core products with fp32 accumulation (about 4e-3 relative error per product).
using cuda_bf16 = cuda_policy<matmul_precision::bf16>;

static_assert(backend_policy<cuda> && backend_policy<cuda_tf32> && backend_policy<cuda_bf16>,
              "a CUDA policy lacks an op of the backend interface (backend/policy.hpp)");

/// Whether this process sees a CUDA device.
inline bool cuda_device_available() { return cuda_system::cuda_device_available(); }

}  // namespace sparse_distill::backend
