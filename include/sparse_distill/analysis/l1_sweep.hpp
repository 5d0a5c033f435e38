#pragma once
// The post's Fig 5 as a table: for each L1 coefficient, the reconstruction error of the full student
// and with each kind of feature mean-ablated, and how many features of each kind there are.
#include "student_analysis.hpp"

#include <nlohmann/json.hpp>

#include <vector>

namespace sparse_distill::analysis {

struct l1_sweep_row {
    double l1_coeff = 0;
    double l0 = 0;
    ablation_by_type ablation;
    feature_type_counts counts;
};

inline l1_sweep_row sweep_row(double l1_coeff, const student_analysis& a) {
    return {l1_coeff, a.activity.l0, a.ablation, a.counts};
}

inline nlohmann::json to_json(const l1_sweep_row& r) {
    return {{"l1_coeff", r.l1_coeff},
            {"l0", r.l0},
            {"mse_full", r.ablation.full.mse},
            {"mse_sparse_only", r.ablation.sparse_only.mse},
            {"mse_simulators_only", r.ablation.simulators_only.mse},
            {"fvu_full", r.ablation.full.fvu},
            {"simulators", r.counts.simulators},
            {"sparse", r.counts.sparse},
            {"dead", r.counts.dead}};
}

}  // namespace sparse_distill::analysis
