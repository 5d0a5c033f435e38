#pragma once
// How much of a language model's loss survives when one MLP is replaced by a student (the post's
// comment table): cross-entropy with the clean model, with the student spliced in, and with the MLP
// ablated (zero or mean). loss recovered = (L_ablated − L_student) / (L_ablated − L_clean): 1 when the
// student is as good as the MLP, 0 when it is no better than ablating it, negative when worse.
#include <cmath>
#include <limits>

namespace sparse_distill::analysis {

/// (L_ablated − L_student) / (L_ablated − L_clean); NaN when ablation does not change the loss.
inline double loss_recovered(double clean, double ablated, double student) {
    const double gap = ablated - clean;
    if (!(std::abs(gap) > 0)) return std::numeric_limits<double>::quiet_NaN();
    return (ablated - student) / gap;
}

struct spliced_losses {
    double clean = 0;
    double zero_ablated = 0;
    double mean_ablated = 0;
    double student = 0;

    double recovered_vs_zero() const { return loss_recovered(clean, zero_ablated, student); }
    double recovered_vs_mean() const { return loss_recovered(clean, mean_ablated, student); }
};

}  // namespace sparse_distill::analysis
