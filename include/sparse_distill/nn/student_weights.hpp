#pragma once
// Host-side weights of a student, feature-major: row j of w_enc and of w_dec are feature j's encoder
// and decoder vectors. (SAELens stores W_enc as [d_in, d_sae] = w_encᵀ and W_dec [d_sae, d_out] = w_dec.)
#include "../tensor/matrix.hpp"

namespace sparse_distill {

template <class Scalar>
struct student_weights {
    matrix<Scalar> w_enc;  ///< [d_sae, d_in]
    vector<Scalar> b_enc;  ///< [d_sae], empty without biases
    matrix<Scalar> w_dec;  ///< [d_sae, d_out]
    vector<Scalar> b_dec;  ///< [d_out], empty without biases
    vector<Scalar> b_pre;  ///< [d_in] for pre_bias::learned, else empty
    vector<Scalar> log_threshold;  ///< [d_sae] for sparsity_mode::jumprelu (θ = exp), else empty
    matrix<Scalar> w_skip;         ///< [d_in, d_out] with a skip connection (ŷ += x·W_skip), else empty
};

}  // namespace sparse_distill
