#pragma once
// backend::cpu_onednn: the CPU backend with its dense float products run by oneDNN's fp32 matmul, whose
// AVX-512 kernels run 1.4–1.8× Eigen's rate on this project's CPUs; everything else is backend::cpu's.
// Same precision as backend::cpu (fp32 operands and accumulation; double products stay Eigen's fp64).
// Opt-in: include this header and link oneDNN (Debian: libdnnl-dev; CMake: the target sparse_distill::onednn).
#include "../config.hpp"
#include "cpu.hpp"
#include "cpu_onednn/matmul.hpp"

namespace sparse_distill::backend {

struct cpu_onednn : cpu_onednn_system::tag {
    static constexpr const char* name = "cpu_onednn";
    static constexpr bool host_memory = true;
    template <class Scalar>
    using buffer = cpu_system::host_buffer<Scalar>;
    using sparse_pattern = cpu_system::active_pattern;
    using step_recording = cpu_system::step_recording;
};

static_assert(backend_policy<cpu_onednn>, "backend::cpu_onednn lacks an op of the backend interface (backend/policy.hpp)");

}  // namespace sparse_distill::backend
