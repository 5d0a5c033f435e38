#pragma once
// The post's two kinds of feature: a "neuron simulator" copies a teacher neuron (max decoder cosine
// above a threshold, 0.8 in the post); every other live feature is a "sparse feature". A feature that
// never fires on the evaluation tokens is dead, whatever its decoder looks like.
#include "../config.hpp"
#include "../detail/enum_names.hpp"
#include "similarity.hpp"

#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace sparse_distill::analysis {

enum class feature_type { neuron_simulator, sparse_feature, dead };

inline constexpr auto feature_type_names = sparse_distill::detail::make_enum_table<feature_type>(
    "feature type",
    {{feature_type::neuron_simulator, "simulator"}, {feature_type::sparse_feature, "sparse"}, {feature_type::dead, "dead"}});

/// "simulator", "sparse" or "dead": the type column of the feature table (analysis/feature_table.hpp).
constexpr std::string_view to_string(feature_type t) { return feature_type_names.name(t); }

/// Dead if it fired on none of the evaluation tokens (fire_counts[j] = 0), else simulator if it has a
/// match with decoder_matches[j].cosine > threshold, else sparse. The threshold must lie in [0, 1).
inline std::vector<feature_type> classify_features(const std::vector<best_match>& decoder_matches,
                                                   const std::vector<std::int64_t>& fire_counts,
                                                   double threshold = 0.8) {
    if (decoder_matches.size() != fire_counts.size())
        throw std::invalid_argument("classify_features: " + std::to_string(decoder_matches.size()) +
                                    " decoder matches but " + std::to_string(fire_counts.size()) + " firing counts");
    if (!(threshold >= 0 && threshold < 1))
        throw std::invalid_argument("classify_features: the simulator threshold is a cosine in [0, 1), got " +
                                    std::to_string(threshold));
    std::vector<feature_type> types(decoder_matches.size());
    for (std::size_t j = 0; j < types.size(); ++j)
        types[j] = fire_counts[j] == 0                      ? feature_type::dead
                   : decoder_matches[j].index >= 0 && decoder_matches[j].cosine > threshold ? feature_type::neuron_simulator
                                                           : feature_type::sparse_feature;
    return types;
}

struct feature_type_counts {
    std::int64_t simulators = 0, sparse = 0, dead = 0;

    std::int64_t total() const { return simulators + sparse + dead; }
    double fraction(std::int64_t n) const { return total() > 0 ? double(n) / double(total()) : 0.0; }
};

/// How many features of each type.
inline feature_type_counts count_feature_types(const std::vector<feature_type>& types) {
    feature_type_counts c;
    for (feature_type t : types) {
        if (t == feature_type::neuron_simulator) ++c.simulators;
        else if (t == feature_type::sparse_feature) ++c.sparse;
        else ++c.dead;
    }
    return c;
}

}  // namespace sparse_distill::analysis
