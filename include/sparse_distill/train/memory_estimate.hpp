#pragma once
// How much memory a training run will hold, estimated before anything is allocated, so that a size
// that cannot fit (--d-sae 2147483648, --batch 1e9) is refused with the numbers instead of failing
// with a bare std::bad_alloc, and the machine's physical memory to compare it with.
#include "../config.hpp"
#include "../nn/student_config.hpp"

#include <cstdint>

#include <unistd.h>

namespace sparse_distill {

/// Bytes a trainer of `config` with batches of `batch_size` rows holds, roughly: the parameters four
/// times (weights, gradients, Adam's two moments) and four [batch, d_sae] and four [batch, d_in + d_out]
/// work arrays (pre-activations, activations, their gradients; inputs, targets, predictions and the
/// error). A double: the product of absurd sizes must not wrap around.
inline double training_memory_bytes(const student_config& config, index_t batch_size, std::size_t scalar_bytes) {
    const double d_in = double(config.d_in), d_out = double(config.d_out), d_sae = double(config.d_sae), b = double(batch_size);
    double parameters = d_sae * (d_in + d_out) + d_sae + d_out + d_in + d_sae;
    if (config.skip) parameters += d_in * d_out;
    return double(scalar_bytes) * (4 * parameters + 4 * b * d_sae + 4 * b * (d_in + d_out));
}

/// The machine's physical memory in bytes (0 when the system does not say).
inline double physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? double(pages) * double(page) : 0.0;
}

}  // namespace sparse_distill
