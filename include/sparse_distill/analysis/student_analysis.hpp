#pragma once
// Every analysis of the post for one trained model against its teacher, in one call.
#include "activation_stats.hpp"
#include "eval_tokens.hpp"
#include "feature_types.hpp"
#include "match_consistency.hpp"
#include "reconstruction.hpp"
#include "similarity.hpp"
#include "simulator_clusters.hpp"
#include "simulator_correlation.hpp"

#include <vector>

namespace sparse_distill::analysis {

struct analysis_options {
    double simulator_threshold = 0.8;  ///< max decoder cosine above which a feature is a neuron simulator
    index_t chunk_rows = 4096;         ///< tokens encoded at a time (bounds memory: chunk × d_sae)
    index_t scatter_samples = 2000;    ///< points kept for the Fig 8 scatter
    /// Compare encoders with the teacher's input vectors: true for a distilled student (it reads the
    /// teacher's input), false for an SAE on the MLP output (its encoder lives in the output space).
    bool compare_encoder = true;
};

struct student_analysis {
    std::vector<best_match> decoder_matches;  ///< Fig 2
    std::vector<best_match> encoder_matches;  ///< Fig 3 (empty without compare_encoder)
    std::vector<best_match> encoder_up_matches;  ///< Fig 3 against W_up of a gated teacher (else empty)
    feature_activation_stats activity;        ///< Fig 4, dead features, L0
    std::vector<feature_type> types;
    feature_type_counts counts;
    ablation_by_type ablation;                ///< Fig 5 (top); ablation.full is the standard metrics
    match_consistency consistency;            ///< Fig 7 (empty without compare_encoder)
    simulator_correlations correlations;      ///< Fig 8
    simulator_clusters clusters;              ///< Appendix B
};

template <class Scalar, class Backend>
student_analysis analyse_student(const student_mlp<Scalar, Backend>& student, const teacher_mlp<Scalar, Backend>& teacher,
                                 const eval_tokens<Scalar>& eval, const analysis_options& options = {}) {
    const student_weights<Scalar> sw = student.weights();
    const mlp_weights<Scalar> tw = teacher.weights();
    student_analysis a;
    a.decoder_matches = decoder_similarity(sw, tw);
    if (options.compare_encoder) {
        a.encoder_matches = encoder_similarity(sw, tw);
        a.encoder_up_matches = encoder_up_similarity(sw, tw);
    }
    a.activity = activation_statistics(student, eval.student_input, options.chunk_rows);
    a.types = classify_features(a.decoder_matches, a.activity.fire_counts, options.simulator_threshold);
    a.counts = count_feature_types(a.types);
    a.ablation = mean_ablation_by_type(student, eval, a.types, a.activity, options.chunk_rows);
    if (options.compare_encoder) a.consistency = encoder_decoder_consistency(a.encoder_matches, a.decoder_matches, a.types);
    a.correlations = correlate_simulators(student, teacher, eval, a.types, a.decoder_matches, options.scatter_samples,
                                          options.chunk_rows);
    a.clusters = cluster_simulators(a.types, a.decoder_matches, teacher.d_mlp(), sw.w_enc);
    return a;
}

}  // namespace sparse_distill::analysis
