#pragma once
// The post's Fig 5 as a table: for each L1 coefficient, the reconstruction error of the full student
// and with each kind of feature mean-ablated, and how many features of each kind there are. A sweep
// over k (TopK students) gives rows of the same kind, which with the λ rows draw a Pareto front of
// error against L0 per architecture.
#include "student_analysis.hpp"

#include <string>
#include <utility>
#include <vector>

namespace sparse_distill::analysis {

struct l1_sweep_row {
    std::string architecture = "relu";  ///< relu, gelu, topk, batchtopk or jumprelu
    index_t k = 0;                      ///< topk / batchtopk: latents kept per token
    double l1_coeff = 0;
    double l0 = 0;
    ablation_by_type ablation;
    feature_type_counts counts;
};

/// The row of one trained student: λ with its analysis.
inline l1_sweep_row sweep_row(double l1_coeff, const student_analysis& a) {
    return {"relu", 0, l1_coeff, a.activity.l0, a.ablation, a.counts};
}

/// The row of one trained student of `architecture` (k for TopK and BatchTopK, else λ).
inline l1_sweep_row sweep_row(std::string architecture, index_t k, double l1_coeff, const student_analysis& a) {
    return {std::move(architecture), k, l1_coeff, a.activity.l0, a.ablation, a.counts};
}

}  // namespace sparse_distill::analysis
