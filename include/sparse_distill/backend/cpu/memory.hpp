#pragma once
// Data movement on the CPU backend: its memory is host memory, so copies are plain copies and there
// is nothing to wait for. Twin: cuda/memory.cuh.
#include "../../config.hpp"
#include "../../tensor/matrix.hpp"
#include "tag.hpp"

#include <cstring>

namespace sparse_distill::backend::cpu_system {

template <class Scalar>
void copy_from_host(tag, const Scalar* host, Scalar* dst, index_t n) {
    if (host != dst) std::memcpy(dst, host, sizeof(Scalar) * static_cast<std::size_t>(n));
}

template <class Scalar>
void copy_to_host(tag, const Scalar* src, Scalar* host, index_t n) {
    if (host != src) std::memcpy(host, src, sizeof(Scalar) * static_cast<std::size_t>(n));
}

/// Every CPU op has finished when it returns.
inline void synchronize(tag) {}

}  // namespace sparse_distill::backend::cpu_system
