#pragma once
// The post's Appendix B: how many student features simulate each teacher neuron. A GELU student
// tends to copy a neuron two or three times (pairs, triplets); a ReLU student about once.
#include "../config.hpp"
#include "cosine.hpp"
#include "detail/chunks.hpp"
#include "feature_types.hpp"
#include "similarity.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparse_distill::analysis {

struct simulator_clusters {
    std::vector<std::int64_t> simulators_per_neuron;  ///< [d_mlp]
    std::map<std::int64_t, std::int64_t> neurons_by_cluster_size;  ///< size → teacher neurons with that many simulators
    /// Mean cosine between the encoder vectors of two simulators of the same neuron (NaN without pairs):
    /// close to 1 when a cluster's members are near copies of each other.
    double mean_within_cluster_encoder_cosine = 0;

    std::int64_t neurons_with(std::int64_t size) const {
        const auto it = neurons_by_cluster_size.find(size);
        return it == neurons_by_cluster_size.end() ? 0 : it->second;
    }
    /// Teacher neurons with at least one simulator.
    std::int64_t neurons_covered() const {
        std::int64_t n = 0;
        for (std::int64_t c : simulators_per_neuron) n += c > 0;
        return n;
    }
};

/// Groups the simulators by the teacher neuron their decoder matches (every simulator has a match
/// index in [0, teacher_neurons)); `encoder_rows` are the model's encoder vectors, one per feature.
template <class Scalar>
simulator_clusters cluster_simulators(const std::vector<feature_type>& types, const std::vector<best_match>& decoder_matches,
                                      index_t teacher_neurons, const matrix<Scalar>& encoder_rows) {
    simulator_clusters c;
    detail::expect_size("cluster_simulators", "decoder_matches", decoder_matches.size(), types.size());
    detail::expect_size("cluster_simulators", "encoder_rows", static_cast<std::size_t>(encoder_rows.rows()), types.size());
    c.simulators_per_neuron.assign(static_cast<std::size_t>(teacher_neurons), 0);
    std::vector<std::vector<index_t>> members(static_cast<std::size_t>(teacher_neurons));
    for (std::size_t j = 0; j < types.size(); ++j) {
        if (types[j] != feature_type::neuron_simulator) continue;
        const index_t neuron = decoder_matches[j].index;
        if (neuron < 0 || neuron >= teacher_neurons)
            throw std::invalid_argument("cluster_simulators: simulator " + std::to_string(j) + " matches neuron " +
                                        std::to_string(neuron) + ", outside [0, " + std::to_string(teacher_neurons) + ")");
        const auto k = static_cast<std::size_t>(neuron);
        ++c.simulators_per_neuron[k];
        members[k].push_back(static_cast<index_t>(j));
    }
    for (std::int64_t n : c.simulators_per_neuron) ++c.neurons_by_cluster_size[n];
    double sum = 0;
    std::int64_t pairs = 0;
    for (const auto& group : members)
        for (std::size_t p = 0; p < group.size(); ++p)
            for (std::size_t q = p + 1; q < group.size(); ++q) {
                sum += cosine_similarity(encoder_rows.row(group[p]), encoder_rows.row(group[q]));
                ++pairs;
            }
    c.mean_within_cluster_encoder_cosine = pairs > 0 ? sum / double(pairs) : std::numeric_limits<double>::quiet_NaN();
    return c;
}

}  // namespace sparse_distill::analysis
