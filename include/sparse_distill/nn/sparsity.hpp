#pragma once
// How a student's latents become sparse: the one table of student architectures.
//   l1         a = act(pre), sparsity from the loss's L1 penalty (the post's ReLU + L1, or GELU)
//   topk       a_bj = relu(pre_bj) for the k largest relu(pre_b·) of each token, else 0 (sparsify, OpenAI)
//   batchtopk  a = relu(pre) on the k·B largest entries of the whole batch, else 0 while training; at
//              inference a JumpReLU with the running threshold τ for every latent (SAELens)
//   jumprelu   a = pre·H(pre − θ), θ = exp(log_threshold) trained through a straight-through estimator
//              of bandwidth ε, with an L0 penalty (Gemma Scope, SAELens)
// pre = x̃·W_encᵀ + b_enc. Every mode but l1 needs act = relu (topk and batchtopk select relu(pre); a
// JumpReLU is pre gated by its threshold) and gives exact zeros, so the sparse path applies.
#include "../config.hpp"
#include "../detail/enum_names.hpp"

#include <string_view>

namespace sparse_distill {

enum class sparsity_mode { l1, topk, batchtopk, jumprelu };

inline constexpr auto sparsity_mode_names = detail::make_enum_table<sparsity_mode>(
    "sparsity mode", {{sparsity_mode::l1, "l1"},
                      {sparsity_mode::topk, "topk"},
                      {sparsity_mode::batchtopk, "batchtopk"},
                      {sparsity_mode::jumprelu, "jumprelu"}});

constexpr std::string_view to_string(sparsity_mode m) { return sparsity_mode_names.name(m); }
inline sparsity_mode parse_sparsity_mode(std::string_view name) { return sparsity_mode_names.parse(name); }
SD_JSON_ENUM(sparsity_mode, sparsity_mode_names)

/// Whether a mode keeps a fixed number of latents (per token, or per batch on average).
constexpr bool keeps_k_latents(sparsity_mode m) { return m == sparsity_mode::topk || m == sparsity_mode::batchtopk; }

}  // namespace sparse_distill
