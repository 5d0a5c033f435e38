#pragma once
// The numbers the replication study keeps of each trained model and of each single-neuron run: what
// the post's claims are about, small enough to write per run (so a study can resume) and to tabulate.
#include "../../analysis/loss_recovered.hpp"
#include "../../analysis/student_analysis.hpp"
#include "../single_neuron.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sparse_distill::experiments::replication {

inline constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

/// One trained model (a distilled student or an SAE), analysed on held-out tokens.
struct model_measurement {
    std::string role;        ///< relu, gelu, sae or topk
    int layer = -1;          ///< the transformer layer (language-model runs), -1 on planted data
    double l1_coeff = 0;     ///< λ as the run's loss used it
    index_t k = 0;           ///< TopK's k (0 for L1 students)
    std::int64_t features = 0, simulators = 0, sparse = 0, dead = 0;
    double simulator_share = 0;                 ///< simulators / features (the post's "29% of the features")
    double simulator_encoder_cosine = not_a_number;  ///< mean over simulators of the max encoder cosine (Fig 3)
    double simulator_correlation = not_a_number;     ///< mean simulator–neuron Pearson correlation (Fig 8)
    double mse = 0, fvu = 0;                    ///< the full model on held-out tokens
    double mse_simulators_ablated = 0;          ///< simulators mean-ablated: what the sparse features carry (Fig 5)
    double mse_sparse_ablated = 0;              ///< sparse features mean-ablated: what the simulators carry
    double l0 = 0;
    double loss_recovered_zero = not_a_number;  ///< language-model runs: vs zero ablation (the post's comment)
    double loss_recovered_mean = not_a_number;  ///< vs mean ablation
};

/// The measurement of one analysed model.
inline model_measurement measure(std::string role, const analysis::student_analysis& a, double l1_coeff, index_t k) {
    model_measurement m;
    m.role = std::move(role);
    m.l1_coeff = l1_coeff;
    m.k = k;
    m.features = a.counts.total();
    m.simulators = a.counts.simulators;
    m.sparse = a.counts.sparse;
    m.dead = a.counts.dead;
    m.simulator_share = a.counts.fraction(a.counts.simulators);
    if (!a.encoder_matches.empty()) {
        double sum = 0;
        std::int64_t n = 0;
        for (std::size_t j = 0; j < a.types.size(); ++j)
            if (a.types[j] == analysis::feature_type::neuron_simulator) sum += a.encoder_matches[j].cosine, ++n;
        if (n > 0) m.simulator_encoder_cosine = sum / double(n);
    }
    m.simulator_correlation = a.correlations.mean();
    m.mse = a.ablation.full.mse;
    m.fvu = a.ablation.full.fvu;
    m.mse_simulators_ablated = a.ablation.sparse_only.mse;
    m.mse_sparse_ablated = a.ablation.simulators_only.mse;
    m.l0 = a.activity.l0;
    return m;
}

/// One run of the single-neuron toy.
struct single_neuron_measurement {
    std::string constraint;            ///< the decoder norm: cap, unit or none
    double encoder_tail = 0, decoder_tail = 0;  ///< cosines to e₀ / e₁, mean of the last summary window
    double decoder_norm_tail = 0;
    std::int64_t decoder_step = -1;    ///< first step where the decoder cosine exceeds 0.9 (-1: never)
    std::int64_t encoder_step = -1;    ///< first step where the encoder cosine exceeds 0.9 (-1: never)
};

inline single_neuron_measurement measure(std::string constraint, const single_neuron_trace& t, std::int64_t window) {
    const auto first_above = [](const std::vector<double>& v, double level) -> std::int64_t {
        for (std::size_t i = 0; i < v.size(); ++i)
            if (v[i] > level) return static_cast<std::int64_t>(i) + 1;
        return -1;
    };
    single_neuron_measurement m;
    m.constraint = std::move(constraint);
    m.encoder_tail = single_neuron_trace::tail_mean(t.encoder_cosine, window);
    m.decoder_tail = single_neuron_trace::tail_mean(t.decoder_cosine, window);
    m.decoder_norm_tail = single_neuron_trace::tail_mean(t.decoder_norm, window);
    m.decoder_step = first_above(t.decoder_cosine, 0.9);
    m.encoder_step = first_above(t.encoder_cosine, 0.9);
    return m;
}

// JSON with NaN as null (JSON has no NaN), read back as NaN.
namespace detail {
inline nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
inline double number_from(const nlohmann::json& j) { return j.is_null() ? not_a_number : j.get<double>(); }
}  // namespace detail

inline void to_json(nlohmann::json& j, const model_measurement& m) {
    using detail::number_or_null;
    j = {{"role", m.role},
         {"layer", m.layer},
         {"l1_coeff", m.l1_coeff},
         {"k", m.k},
         {"features", m.features},
         {"simulators", m.simulators},
         {"sparse", m.sparse},
         {"dead", m.dead},
         {"simulator_share", m.simulator_share},
         {"simulator_encoder_cosine", number_or_null(m.simulator_encoder_cosine)},
         {"simulator_correlation", number_or_null(m.simulator_correlation)},
         {"mse", m.mse},
         {"fvu", m.fvu},
         {"mse_simulators_ablated", m.mse_simulators_ablated},
         {"mse_sparse_ablated", m.mse_sparse_ablated},
         {"l0", m.l0},
         {"loss_recovered_zero", number_or_null(m.loss_recovered_zero)},
         {"loss_recovered_mean", number_or_null(m.loss_recovered_mean)}};
}
inline void from_json(const nlohmann::json& j, model_measurement& m) {
    using detail::number_from;
    j.at("role").get_to(m.role);
    j.at("layer").get_to(m.layer);
    j.at("l1_coeff").get_to(m.l1_coeff);
    j.at("k").get_to(m.k);
    j.at("features").get_to(m.features);
    j.at("simulators").get_to(m.simulators);
    j.at("sparse").get_to(m.sparse);
    j.at("dead").get_to(m.dead);
    j.at("simulator_share").get_to(m.simulator_share);
    m.simulator_encoder_cosine = number_from(j.at("simulator_encoder_cosine"));
    m.simulator_correlation = number_from(j.at("simulator_correlation"));
    j.at("mse").get_to(m.mse);
    j.at("fvu").get_to(m.fvu);
    j.at("mse_simulators_ablated").get_to(m.mse_simulators_ablated);
    j.at("mse_sparse_ablated").get_to(m.mse_sparse_ablated);
    j.at("l0").get_to(m.l0);
    m.loss_recovered_zero = number_from(j.at("loss_recovered_zero"));
    m.loss_recovered_mean = number_from(j.at("loss_recovered_mean"));
}

inline void to_json(nlohmann::json& j, const single_neuron_measurement& m) {
    j = {{"constraint", m.constraint},         {"encoder_tail", m.encoder_tail}, {"decoder_tail", m.decoder_tail},
         {"decoder_norm_tail", m.decoder_norm_tail}, {"decoder_step", m.decoder_step}, {"encoder_step", m.encoder_step}};
}
inline void from_json(const nlohmann::json& j, single_neuron_measurement& m) {
    j.at("constraint").get_to(m.constraint);
    j.at("encoder_tail").get_to(m.encoder_tail);
    j.at("decoder_tail").get_to(m.decoder_tail);
    j.at("decoder_norm_tail").get_to(m.decoder_norm_tail);
    j.at("decoder_step").get_to(m.decoder_step);
    j.at("encoder_step").get_to(m.encoder_step);
}

}  // namespace sparse_distill::experiments::replication
