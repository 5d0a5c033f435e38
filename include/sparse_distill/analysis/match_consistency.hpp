#pragma once
// The post's Fig 7: for each neuron simulator, is the teacher neuron its encoder resembles most the
// same one its decoder resembles most? If so, each simulator copies one neuron, not a mixture.
#include "feature_types.hpp"
#include "similarity.hpp"

#include <limits>
#include <vector>

namespace sparse_distill::analysis {

struct matched_pair {
    index_t feature = -1;
    index_t encoder_neuron = -1;
    index_t decoder_neuron = -1;
};

struct match_consistency {
    std::vector<matched_pair> pairs;  ///< one per simulator, in feature order
    std::int64_t consistent = 0;      ///< pairs whose encoder and decoder pick the same neuron

    /// NaN without simulators: there is nothing to be consistent.
    double fraction() const {
        return pairs.empty() ? std::numeric_limits<double>::quiet_NaN() : double(consistent) / double(pairs.size());
    }
};

/// The (feature, encoder neuron, decoder neuron) triple of every simulator and how many agree.
inline match_consistency encoder_decoder_consistency(const std::vector<best_match>& encoder_matches,
                                                     const std::vector<best_match>& decoder_matches,
                                                     const std::vector<feature_type>& types) {
    if (encoder_matches.size() != types.size() || decoder_matches.size() != types.size())
        throw std::invalid_argument("encoder_decoder_consistency: need one encoder match, decoder match and type per feature");
    match_consistency m;
    for (std::size_t j = 0; j < types.size(); ++j) {
        if (types[j] != feature_type::neuron_simulator) continue;
        const matched_pair p{static_cast<index_t>(j), encoder_matches[j].index, decoder_matches[j].index};
        m.consistent += p.encoder_neuron == p.decoder_neuron;
        m.pairs.push_back(p);
    }
    return m;
}

}  // namespace sparse_distill::analysis
