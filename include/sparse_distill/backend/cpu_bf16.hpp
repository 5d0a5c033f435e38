#pragma once
// backend::cpu_bf16: the CPU backend with its dense float products run on bf16 operands with fp32
// accumulation (oneDNN's AVX512-BF16 kernels), the CPU twin of backend::cuda_bf16. Everything else —
// activation passes, the sparse path, Adam, the reductions — is backend::cpu's, in fp32; double products
// stay fp64. Opt-in: include this header and link oneDNN (Debian: libdnnl-dev; CMake: the target
// sparse_distill::onednn). A CPU without AVX512-BF16 is refused with a message at the first product
// (backend::cpu_bf16_available() asks beforehand).
#include "../config.hpp"
#include "cpu.hpp"
#include "cpu_bf16/matmul.hpp"

namespace sparse_distill::backend {

struct cpu_bf16 : cpu_bf16_system::tag {
    static constexpr const char* name = "cpu_bf16";
    static constexpr bool host_memory = true;
    template <class Scalar>
    using buffer = cpu_system::host_buffer<Scalar>;
    using sparse_pattern = cpu_system::active_pattern;
    using step_recording = cpu_system::step_recording;
};

static_assert(backend_policy<cpu_bf16>, "backend::cpu_bf16 lacks an op of the backend interface (backend/policy.hpp)");

/// Whether this CPU multiplies bf16 in hardware (oneDNN's effective ISA is avx512_core_bf16 or above).
inline bool cpu_bf16_available() { return onednn_system::cpu_bf16_available(); }

}  // namespace sparse_distill::backend
