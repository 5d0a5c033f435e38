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
#include <type_traits>
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

/// Calls f(name, field) for every field, in order: the one list that JSON writing and reading share.
template <class M, class F>
    requires std::is_same_v<std::remove_const_t<M>, model_measurement>
void for_each_field(M& m, F&& f) {
    f("role", m.role), f("layer", m.layer), f("l1_coeff", m.l1_coeff), f("k", m.k), f("features", m.features);
    f("simulators", m.simulators), f("sparse", m.sparse), f("dead", m.dead), f("simulator_share", m.simulator_share);
    f("simulator_encoder_cosine", m.simulator_encoder_cosine), f("simulator_correlation", m.simulator_correlation);
    f("mse", m.mse), f("fvu", m.fvu), f("mse_simulators_ablated", m.mse_simulators_ablated);
    f("mse_sparse_ablated", m.mse_sparse_ablated), f("l0", m.l0), f("loss_recovered_zero", m.loss_recovered_zero);
    f("loss_recovered_mean", m.loss_recovered_mean);
}
template <class M, class F>
    requires std::is_same_v<std::remove_const_t<M>, single_neuron_measurement>
void for_each_field(M& m, F&& f) {
    f("constraint", m.constraint), f("encoder_tail", m.encoder_tail), f("decoder_tail", m.decoder_tail);
    f("decoder_norm_tail", m.decoder_norm_tail), f("decoder_step", m.decoder_step), f("encoder_step", m.encoder_step);
}

// JSON has no NaN: a NaN is written as null and null is read back as NaN.
namespace detail {
template <class T>
nlohmann::json json_value(const T& v) {
    if constexpr (std::is_floating_point_v<T>) return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
    else return nlohmann::json(v);
}
template <class T>
void read_value(const nlohmann::json& j, T& v) {
    if constexpr (std::is_floating_point_v<T>) v = j.is_null() ? not_a_number : j.get<T>();
    else j.get_to(v);
}
template <class M>
void write_fields(nlohmann::json& j, const M& m) {
    j = nlohmann::json::object();
    for_each_field(m, [&](const char* name, const auto& v) { j[name] = json_value(v); });
}
template <class M>
void read_fields(const nlohmann::json& j, M& m) {
    for_each_field(m, [&](const char* name, auto& v) { read_value(j.at(name), v); });
}
}  // namespace detail

inline void to_json(nlohmann::json& j, const model_measurement& m) { detail::write_fields(j, m); }
inline void from_json(const nlohmann::json& j, model_measurement& m) { detail::read_fields(j, m); }
inline void to_json(nlohmann::json& j, const single_neuron_measurement& m) { detail::write_fields(j, m); }
inline void from_json(const nlohmann::json& j, single_neuron_measurement& m) { detail::read_fields(j, m); }

}  // namespace sparse_distill::experiments::replication
