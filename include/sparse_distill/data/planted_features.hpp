#pragma once
// Inputs with known sparse structure, the main job's embedded default: F unit feature directions in
// R^d with F > d (superposition), each active independently with probability p and a magnitude drawn
// uniformly from [m_min, m_max], plus a little isotropic noise:
//     x = Σ_{i active} m_i·f_i + σ·ε,   ε ~ N(0, I_d).
// Knowing the f_i lets analyses ask how well a trained student recovered them.
// Counter-based like gaussian_source: token t is the same vector for any batch size or thread count,
// and the position can be saved and resumed.
#include "../random/fill.hpp"
#include "../tensor/matrix.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace sparse_distill::data {

struct planted_feature_settings {
    index_t dim = 64;               ///< d, the input dimension
    index_t features = 512;         ///< F, the number of planted directions (F > d: superposition)
    double probability = 0.02;      ///< p, the chance that a feature is active on a token
    double magnitude_min = 0.5;     ///< an active feature's magnitude ~ U[magnitude_min, magnitude_max]
    double magnitude_max = 1.5;
    double noise_stddev = 0.02;     ///< σ of the isotropic noise per coordinate

    /// Throws std::invalid_argument naming the setting that is impossible.
    void validate() const {
        auto fail = [](const std::string& what) { throw std::invalid_argument("planted features: " + what); };
        if (dim <= 0) fail("dim must be positive (got " + std::to_string(dim) + ")");
        if (features <= 0) fail("features must be positive (got " + std::to_string(features) + ")");
        if (!(probability > 0 && probability < 1)) fail("probability must be in (0, 1) (got " + std::to_string(probability) + ")");
        if (!(magnitude_min >= 0 && magnitude_max >= magnitude_min))
            fail("magnitudes must satisfy 0 ≤ min ≤ max (got " + std::to_string(magnitude_min) + ", " +
                 std::to_string(magnitude_max) + ")");
        if (!(noise_stddev >= 0)) fail("noise_stddev must be non-negative");
    }

    /// E‖x‖² = F·p·E[m²] + d·σ² (the directions are unit vectors and independent features are
    /// uncorrelated only on average, so this is the expectation over directions too).
    double expected_squared_norm() const {
        const double a = magnitude_min, b = magnitude_max;
        const double mean_square = (a * a + a * b + b * b) / 3.0;
        return double(features) * probability * mean_square + double(dim) * noise_stddev * noise_stddev;
    }
    double mean_magnitude() const { return 0.5 * (magnitude_min + magnitude_max); }
};

template <class Scalar>
class planted_feature_source {
public:
    planted_feature_source(const planted_feature_settings& settings, std::uint64_t seed)
        : settings_(checked(settings)),
          gap_rng_(seed, gap_stream),
          magnitude_rng_(seed, magnitude_stream),
          noise_rng_(seed, noise_stream) {
        directions_.resize(settings_.features, settings_.dim);
        random::fill_normal(directions_, random::counter_rng(seed, direction_stream));
        directions_.rowwise().normalize();
    }

    const planted_feature_settings& settings() const { return settings_; }
    index_t dim() const { return settings_.dim; }
    /// The planted directions f_i, one unit vector per row: [F, d].
    const matrix<Scalar>& directions() const { return directions_; }

    /// Fills every row of x ([rows, d]) with the next tokens. Never runs out.
    bool next_batch(matrix<Scalar>& x) {
        if (x.cols() != settings_.dim)
            throw std::invalid_argument("planted_feature_source: batch has " + std::to_string(x.cols()) +
                                        " columns, expected dim = " + std::to_string(settings_.dim));
        if (settings_.noise_stddev > 0)
            random::fill_normal(x, noise_rng_, position_ * static_cast<std::uint64_t>(settings_.dim), settings_.noise_stddev);
        else
            x.setZero();
        const index_t rows = x.rows();
        const std::uint64_t first = position_;
        // Tokens are independent and each writes only its own row.
#pragma omp parallel for schedule(static) if (rows * settings_.dim >= 16384)
        for (index_t r = 0; r < rows; ++r) add_active_features(first + static_cast<std::uint64_t>(r), x.row(r));
        batch_start_ = first;
        position_ += static_cast<std::uint64_t>(rows);
        return true;
    }

    /// The active features of token t with their magnitudes, in increasing feature order (for tests
    /// and for analyses that need the ground truth per token).
    template <class Visit>
    void for_each_active(std::uint64_t token, Visit&& visit) const {
        // Geometric skipping: the gap to the next active feature is ⌊log U / log(1 − p)⌋, so a token
        // costs O(F·p) draws instead of F. Draw k of token t has its own counter, t·(F + 1) + k.
        const std::uint64_t base = token * static_cast<std::uint64_t>(settings_.features + 1);
        const double log_q = std::log1p(-settings_.probability);
        index_t feature = -1;
        for (std::uint64_t k = 0;; ++k) {
            const double gap = std::floor(std::log(gap_rng_.uniform(base + k)) / log_q);
            if (gap >= double(settings_.features - feature - 1)) return;
            feature += 1 + static_cast<index_t>(gap);
            visit(feature, magnitude_rng_.uniform(base + k, settings_.magnitude_min, settings_.magnitude_max));
        }
    }

    /// Tokens handed out so far; `seek` resumes from a saved position.
    std::uint64_t position() const { return position_; }
    void seek(std::uint64_t tokens) { position_ = batch_start_ = tokens; }

    /// Where row `batch_row` of the last batch came from, for error messages: "token N".
    std::string describe_row(index_t batch_row) const {
        return "token " + std::to_string(batch_start_ + static_cast<std::uint64_t>(batch_row));
    }

private:
    enum stream : std::uint64_t { direction_stream = 201, gap_stream, magnitude_stream, noise_stream };

    static const planted_feature_settings& checked(const planted_feature_settings& s) {
        s.validate();
        return s;
    }

    template <class Row>
    void add_active_features(std::uint64_t token, Row&& row) const {
        for_each_active(token, [&](index_t feature, double magnitude) {
            row += static_cast<Scalar>(magnitude) * directions_.row(feature);
        });
    }

    planted_feature_settings settings_;
    random::counter_rng gap_rng_, magnitude_rng_, noise_rng_;
    matrix<Scalar> directions_;
    std::uint64_t position_ = 0;
    std::uint64_t batch_start_ = 0;
};

}  // namespace sparse_distill::data
