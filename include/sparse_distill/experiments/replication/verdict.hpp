#pragma once
// How a claim of the post is judged from runs over several seeds. A claim's rule is a band [lo, hi]
// that a seed's value must fall in to support the claim, fixed in claims.hpp before any run:
//   one setting:   every seed inside → reproduced; no seed inside → contradicted; else mixed;
//   all settings:  every setting reproduced → reproduced; every one contradicted → contradicted;
//                  otherwise the claim depends on the setting, and the verdict names which way each went.
// A seed whose value is NaN (nothing to measure, e.g. a student with no simulators) is not inside the
// band; a setting where no seed has a value is not measured and leaves the overall verdict alone.
#include "../../config.hpp"
#include "../../detail/enum_names.hpp"
#include "../../detail/json_fields.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace sparse_distill::experiments::replication {

enum class verdict { reproduced, contradicted, mixed, not_measured };
inline constexpr auto verdict_names = sparse_distill::detail::make_enum_table<verdict>(
    "verdict", {{verdict::reproduced, "reproduced"},
                {verdict::contradicted, "contradicted"},
                {verdict::mixed, "mixed"},
                {verdict::not_measured, "not measured"}});
constexpr std::string_view to_string(verdict v) { return verdict_names.name(v); }
SD_JSON_ENUM(verdict, verdict_names)

/// One number per seed, in seed order.
struct seed_values {
    std::vector<double> values;

    std::vector<double> finite() const {
        std::vector<double> out;
        for (double v : values)
            if (std::isfinite(v)) out.push_back(v);
        return out;
    }
    /// Mean of the finite values (NaN when there are none).
    double mean() const {
        const std::vector<double> f = finite();
        if (f.empty()) return std::numeric_limits<double>::quiet_NaN();
        double sum = 0;
        for (double v : f) sum += v;
        return sum / double(f.size());
    }
    /// Sample standard deviation of the finite values (n − 1; NaN below two values).
    double sd() const {
        const std::vector<double> f = finite();
        if (f.size() < 2) return std::numeric_limits<double>::quiet_NaN();
        const double m = mean();
        double sum = 0;
        for (double v : f) sum += (v - m) * (v - m);
        return std::sqrt(sum / double(f.size() - 1));
    }
    double min() const {
        const std::vector<double> f = finite();
        return f.empty() ? std::numeric_limits<double>::quiet_NaN() : *std::min_element(f.begin(), f.end());
    }
    double max() const {
        const std::vector<double> f = finite();
        return f.empty() ? std::numeric_limits<double>::quiet_NaN() : *std::max_element(f.begin(), f.end());
    }
};

/// The values that support a claim: lo ≤ value ≤ hi (either end may be infinite).
struct band {
    double lo = -std::numeric_limits<double>::infinity();
    double hi = std::numeric_limits<double>::infinity();

    bool contains(double v) const { return std::isfinite(v) && v >= lo && v <= hi; }
    static band at_least(double lo) { return {lo, std::numeric_limits<double>::infinity()}; }
    static band at_most(double hi) { return {-std::numeric_limits<double>::infinity(), hi}; }
    /// For yes/no measurements recorded as 1 (holds) or 0 (does not).
    static band holds() { return {1, 1}; }
};

/// The verdict of one setting: every seed inside the band, none, or some.
inline verdict judge(const band& rule, const seed_values& v) {
    std::size_t inside = 0, measured = 0;
    for (double x : v.values) {
        if (std::isfinite(x)) ++measured;
        if (rule.contains(x)) ++inside;
    }
    if (measured == 0) return verdict::not_measured;
    if (inside == v.values.size()) return verdict::reproduced;
    if (inside == 0) return verdict::contradicted;
    return verdict::mixed;
}

/// One setting of a claim: its name, the seeds' values and their verdict.
struct setting_outcome {
    std::string setting;
    seed_values values;
    verdict outcome = verdict::not_measured;
};

/// The claim's verdict over its settings, in words: "reproduced", "contradicted", "mixed", "not measured",
/// or "depends on the setting: reproduced under A; contradicted under B, C; mixed under D".
inline std::string overall_verdict(const std::vector<setting_outcome>& settings) {
    std::vector<const setting_outcome*> measured;
    for (const auto& s : settings)
        if (s.outcome != verdict::not_measured) measured.push_back(&s);
    if (measured.empty()) return std::string(to_string(verdict::not_measured));
    const verdict first = measured.front()->outcome;
    if (std::all_of(measured.begin(), measured.end(), [&](const setting_outcome* s) { return s->outcome == first; }))
        return std::string(to_string(first));
    std::string text = "depends on the setting:";
    bool any = false;
    for (verdict v : {verdict::reproduced, verdict::contradicted, verdict::mixed}) {
        std::string names;
        for (const setting_outcome* s : measured)
            if (s->outcome == v) names += (names.empty() ? "" : ", ") + s->setting;
        if (names.empty()) continue;
        text += std::string(any ? ";" : "") + " " + std::string(to_string(v)) + " under " + names;
        any = true;
    }
    return text;
}

}  // namespace sparse_distill::experiments::replication
