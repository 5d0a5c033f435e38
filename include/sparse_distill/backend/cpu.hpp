#pragma once
// The CPU backend policy: host memory, Eigen products, OpenMP loops. Its ops live in cpu/, one file per
// op, each the twin of the CUDA backend's cuda/<op>.cuh, and are called through the checked front-end
// (ops.hpp): `backend::matmul<backend::cpu>(a, false, b, true, c)`. Models, loss, optimizer and trainer
// take the policy as a template parameter; callers switch backends by changing that one argument.
#include "../config.hpp"
#include "cpu/activation.hpp"
#include "cpu/adam.hpp"
#include "cpu/buffer.hpp"
#include "cpu/column_sums.hpp"
#include "cpu/matmul.hpp"
#include "cpu/memory.hpp"
#include "cpu/pointwise.hpp"
#include "cpu/selection.hpp"
#include "cpu/sparse.hpp"
#include "cpu/squared_error.hpp"
#include "cpu/step_replay.hpp"
#include "cpu/tag.hpp"
#include "ops.hpp"
#include "policy.hpp"

namespace sparse_distill::backend {

/// Host memory, Eigen products, OpenMP loops; every op has finished when it returns.
struct cpu : cpu_system::tag {
    static constexpr const char* name = "cpu";
    /// Buffers are host memory: the trainer trains on the batch where the source wrote it.
    static constexpr bool host_memory = true;
    template <class Scalar>
    using buffer = cpu_system::host_buffer<Scalar>;
    /// The active (token, feature) pairs of a step, by token and by feature (cpu/sparse.hpp).
    using sparse_pattern = cpu_system::active_pattern;
    /// A recorded training step (replay_step): nothing to record on the CPU.
    using step_recording = cpu_system::step_recording;
};

static_assert(backend_policy<cpu>, "backend::cpu lacks an op of the backend interface (backend/policy.hpp)");

}  // namespace sparse_distill::backend
