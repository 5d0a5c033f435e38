#pragma once
// What a communicator is: the policy through which the ranks of a data-parallel run talk, beside the
// backend policy. The trainer all-reduces its gradients and the sums it logs through one; nothing else
// in the trainer knows how many ranks there are.
//   comm::single   one process, every operation a no-op (comm/single.hpp, the default)
//   comm::mpi      MPI, host memory (comm/mpi.hpp; the program links MPI)
//   comm::nccl     NCCL, device memory, one rank per GPU (comm/nccl.cuh; opt-in like the CUDA backend)
// Every sum is deterministic: element i of the result is ((g₀ + g₁) + g₂) + … in rank order, whatever
// the library's reduction algorithm would do, so a run is bit-identical from one repetition to the next.
#include "../config.hpp"
#include "../tensor/matrix.hpp"

#include <concepts>
#include <cstdint>
#include <string>
#include <vector>

namespace sparse_distill::comm {

/// A communicator policy. sum_in_rank_order takes host memory. A communicator with `device_memory` also
/// has sum_device_in_rank_order(T*, n) for device memory (the trainer's gradients on a device backend);
/// with a host communicator and a device backend the trainer stages the gradients through host memory.
template <class Comm>
concept communicator = requires(const Comm& c, Comm& m, float* f, double* d, index_t n, std::int64_t v, const std::string& text) {
    { Comm::name } -> std::convertible_to<const char*>;
    { Comm::device_memory } -> std::convertible_to<bool>;
    { c.rank() } -> std::convertible_to<int>;
    { c.size() } -> std::convertible_to<int>;
    m.sum_in_rank_order(f, n);  // in place, on every rank
    m.sum_in_rank_order(d, n);
    { m.max_over_ranks(v) } -> std::convertible_to<std::int64_t>;
    { m.gather_text(text) } -> std::convertible_to<std::vector<std::string>>;  // every rank's, on every rank
    m.abort(1);  // ends every rank of the run, now (a fault on one rank must not leave the others waiting)
};

}  // namespace sparse_distill::comm
