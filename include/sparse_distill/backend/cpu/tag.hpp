#pragma once
// The CPU backend's tag: backend::cpu derives from it, so a call `matmul(backend::cpu{}, ...)` finds the
// ops of this namespace by argument-dependent lookup (backend/policy.hpp). Twin: cuda/tag.cuh.
namespace sparse_distill::backend::cpu_system {

struct tag {};

}  // namespace sparse_distill::backend::cpu_system
