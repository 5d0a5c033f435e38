#pragma once
// One CSV row per feature: everything the analyses know about it, for a spreadsheet or pandas.
#include "../config.hpp"
#include "detail/chunks.hpp"
#include "student_analysis.hpp"

#include <cmath>
#include <cstdio>
#include <string>

namespace sparse_distill::analysis {

/// Columns: feature, type, decoder_max_cosine, decoder_teacher_neuron, encoder_max_cosine,
/// encoder_teacher_neuron, frequency, mean_activation, max_activation, simulator_correlation,
/// encoder_up_max_cosine, encoder_up_teacher_neuron. Encoder columns are empty when the encoder was
/// not compared (the up columns unless the teacher is gated), the correlation when not a simulator.
inline std::string feature_table_csv(const student_analysis& a) {
    std::string out =
        "feature,type,decoder_max_cosine,decoder_teacher_neuron,encoder_max_cosine,encoder_teacher_neuron,"
        "frequency,mean_activation,max_activation,simulator_correlation,encoder_up_max_cosine,encoder_up_teacher_neuron\n";
    const std::size_t h = a.types.size();
    detail::expect_size("feature_table_csv", "decoder_matches", a.decoder_matches.size(), h);
    if (!a.encoder_matches.empty()) detail::expect_size("feature_table_csv", "encoder_matches", a.encoder_matches.size(), h);
    if (!a.encoder_up_matches.empty())
        detail::expect_size("feature_table_csv", "encoder_up_matches", a.encoder_up_matches.size(), h);
    detail::expect_size("feature_table_csv", "fire_counts", a.activity.fire_counts.size(), h);
    std::vector<double> correlation(h, std::nan(""));
    for (const auto& s : a.correlations.simulators) correlation[static_cast<std::size_t>(s.feature)] = s.pearson;
    const auto num = [](double v) {
        if (!std::isfinite(v)) return std::string();
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", v);
        return std::string(buf);
    };
    for (std::size_t j = 0; j < a.types.size(); ++j) {
        out += std::to_string(j) + "," + std::string(to_string(a.types[j])) + "," + num(a.decoder_matches[j].cosine) + "," +
               std::to_string(a.decoder_matches[j].index) + ",";
        if (!a.encoder_matches.empty())
            out += num(a.encoder_matches[j].cosine) + "," + std::to_string(a.encoder_matches[j].index);
        else
            out += ",";
        out += "," + num(a.activity.frequency(j)) + "," + num(a.activity.mean_activation[j]) + "," +
               num(a.activity.max_activation[j]) + "," + num(correlation[j]) + ",";
        if (!a.encoder_up_matches.empty())
            out += num(a.encoder_up_matches[j].cosine) + "," + std::to_string(a.encoder_up_matches[j].index);
        else
            out += ",";
        out += "\n";
    }
    return out;
}

}  // namespace sparse_distill::analysis
