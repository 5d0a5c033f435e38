#pragma once
// The post's Fig 8: a neuron simulator's activation against the activation of the teacher neuron it
// copies, as a Pearson correlation per simulator and a scatter of samples for one of them.
#include "../config.hpp"
#include "../nn/student.hpp"
#include "../nn/teacher.hpp"
#include "detail/chunks.hpp"
#include "eval_tokens.hpp"
#include "feature_types.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace sparse_distill::analysis {

struct simulator_correlation {
    index_t feature = -1;
    index_t neuron = -1;
    double pearson = 0;  ///< NaN when either activation is constant over the tokens
};

struct simulator_correlations {
    std::vector<simulator_correlation> simulators;  ///< in feature order
    /// Samples (student activation, teacher activation) of the first simulator, for the scatter plot.
    index_t sample_feature = -1, sample_neuron = -1;
    std::vector<double> sample_student, sample_teacher;

    /// Mean of the defined correlations (NaN when there are none).
    double mean() const {
        double sum = 0;
        std::int64_t n = 0;
        for (const auto& s : simulators)
            if (!std::isnan(s.pearson)) sum += s.pearson, ++n;
        return n > 0 ? sum / double(n) : std::numeric_limits<double>::quiet_NaN();
    }
};

/// Pearson r between a_j (student feature j on eval.student_input) and h_k (teacher neuron k on
/// eval.teacher_input) for each simulator j with decoder match k; keeps `samples` points of the first.
template <class Scalar, class Backend>
simulator_correlations correlate_simulators(const student_mlp<Scalar, Backend>& student, const teacher_mlp<Scalar, Backend>& teacher,
                                            const eval_tokens<Scalar>& eval, const std::vector<feature_type>& types,
                                            const std::vector<best_match>& decoder_matches, index_t samples = 2000,
                                            index_t chunk_rows = 4096) {
    detail::expect_size("correlate_simulators", "types", types.size(), static_cast<std::size_t>(student.d_sae()));
    detail::expect_size("correlate_simulators", "decoder_matches", decoder_matches.size(), types.size());
    simulator_correlations out;
    for (std::size_t j = 0; j < types.size(); ++j) {
        if (types[j] != feature_type::neuron_simulator) continue;
        const index_t neuron = decoder_matches[j].index;
        if (neuron < 0 || neuron >= teacher.d_mlp())
            throw std::invalid_argument("correlate_simulators: simulator " + std::to_string(j) + " matches neuron " +
                                        std::to_string(neuron) + ", outside the teacher's " + std::to_string(teacher.d_mlp()));
        out.simulators.push_back({static_cast<index_t>(j), neuron, 0.0});
    }
    if (out.simulators.empty()) return out;
    out.sample_feature = out.simulators.front().feature;
    out.sample_neuron = out.simulators.front().neuron;

    // Raw moments in double; activations are O(1) and N ≤ millions, so cancellation is harmless.
    struct moments { double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0; };
    std::vector<moments> m(out.simulators.size());
    detail::for_each_chunk(eval.rows(), chunk_rows, [&](index_t first, index_t rows) {
        const matrix<Scalar> a = student.encode(eval.student_input.middleRows(first, rows));
        const matrix<Scalar> h = teacher.hidden(matrix<Scalar>(eval.teacher_input.middleRows(first, rows)));
        // Simulators are independent: each thread owns some of them.
#pragma omp parallel for schedule(static)
        for (std::size_t s = 0; s < out.simulators.size(); ++s) {
            const index_t j = out.simulators[s].feature, k = out.simulators[s].neuron;
            for (index_t r = 0; r < rows; ++r) {
                const double x = a(r, j), y = h(r, k);
                m[s].sx += x, m[s].sy += y, m[s].sxx += x * x, m[s].syy += y * y, m[s].sxy += x * y;
            }
        }
        for (index_t r = 0; r < rows && index_t(out.sample_student.size()) < samples; ++r) {
            out.sample_student.push_back(a(r, out.sample_feature));
            out.sample_teacher.push_back(h(r, out.sample_neuron));
        }
    });
    const double n = double(eval.rows());
    for (std::size_t s = 0; s < m.size(); ++s) {
        const double cov = m[s].sxy - m[s].sx * m[s].sy / n;
        const double vx = m[s].sxx - m[s].sx * m[s].sx / n, vy = m[s].syy - m[s].sy * m[s].sy / n;
        out.simulators[s].pearson = vx > 0 && vy > 0 ? cov / std::sqrt(vx * vy) : std::numeric_limits<double>::quiet_NaN();
    }
    return out;
}

}  // namespace sparse_distill::analysis
