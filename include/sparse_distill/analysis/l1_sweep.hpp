#pragma once
// The post's Fig 5 as a table: for each L1 coefficient, the reconstruction error of the full student
// and with each kind of feature mean-ablated, and how many features of each kind there are.
#include "student_analysis.hpp"

#include <vector>

namespace sparse_distill::analysis {

struct l1_sweep_row {
    double l1_coeff = 0;
    double l0 = 0;
    ablation_by_type ablation;
    feature_type_counts counts;
};

/// The row of one trained student: λ with its analysis.
inline l1_sweep_row sweep_row(double l1_coeff, const student_analysis& a) {
    return {l1_coeff, a.activity.l0, a.ablation, a.counts};
}

}  // namespace sparse_distill::analysis
