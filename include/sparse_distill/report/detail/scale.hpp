#pragma once
// Mapping data values to the unit interval along one axis, and choosing that axis's ticks: round
// steps of 1, 2 or 5 × 10^k on linear axes, powers of ten on log axes.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/report/detail/number_format.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace sparse_distill::report::detail {

struct tick {
    double value;       // in data units
    std::string label;  // empty for minor ticks
};

// Smallest and largest accepted value seen so far.
struct value_range {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();
    void include(double value) { lo = std::min(lo, value), hi = std::max(hi, value); }
    bool empty() const { return lo > hi; }
};

// The smallest step of the form {1, 2, 5} × 10^k that cuts `span` into at most about `target` parts.
inline double nice_step(double span, int target) {
    const double raw = span / std::max(1, target);
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    for (const double factor : {1.0, 2.0, 5.0})
        if (factor * power >= raw * (1 - 1e-9)) return factor * power;
    return 10 * power;
}

inline std::vector<tick> linear_ticks_with_step(double lo, double hi, double step) {
    std::vector<tick> ticks;
    // A span lost in rounding (1e9 to 1e9 + 1e-9) yields no usable step; an axis without ticks
    // is better than an endless loop.
    if (!(hi > lo) || !(step > 0) || !std::isfinite(step) || (hi - lo) / step > 1000) return ticks;
    const double largest = std::max(std::abs(lo), std::abs(hi));
    // Integer multiples of the step, so rounding error cannot accumulate from tick to tick.
    const auto first = static_cast<long long>(std::ceil(lo / step - 1e-9));
    const auto last = static_cast<long long>(std::floor(hi / step + 1e-9));
    for (long long i = first; i <= last; ++i) {
        const double value = static_cast<double>(i) * step;
        ticks.push_back({value, format_linear_tick(value, step, largest)});
    }
    return ticks;
}

inline std::vector<tick> linear_ticks(double lo, double hi, int target) {
    return linear_ticks_with_step(lo, hi, nice_step(hi - lo, target));
}

// Labelled ticks at powers of ten (every `stride`-th decade when there are many), minor ticks at
// 2..9 × 10^k when decades are wide enough to show them. A range inside one decade has too few
// powers of ten to read values from, so it falls back to linear steps.
inline std::vector<tick> log_ticks(double lo, double hi) {
    std::vector<tick> ticks;
    if (!(hi > lo) || !(lo > 0)) return ticks;
    const int first = static_cast<int>(std::ceil(std::log10(lo) - 1e-9));
    const int last = static_cast<int>(std::floor(std::log10(hi) + 1e-9));
    if (last - first < 1) {
        for (auto& t : linear_ticks(lo, hi, 4))
            if (t.value > 0) ticks.push_back(std::move(t));
        return ticks;
    }
    const int stride = std::max(1, (last - first + 7) / 8);
    const bool plain = first >= -2 && last <= 3;
    for (int e = first - first % stride - stride; e <= last; e += stride)
        if (e >= first) ticks.push_back({std::pow(10.0, e), format_power_of_ten(e, plain)});
    if (stride == 1 && last - first <= 6)
        for (int e = first - 1; e <= last; ++e)
            for (int m = 2; m <= 9; ++m) {
                const double value = m * std::pow(10.0, e);
                if (value >= lo * (1 - 1e-9) && value <= hi * (1 + 1e-9)) ticks.push_back({value, ""});
            }
    return ticks;
}

// One axis: its domain [lo, hi] in transformed units (log10 of the value on a log axis) and its ticks.
struct scale {
    double lo = 0, hi = 1;
    bool log = false;
    std::vector<tick> ticks;

    bool accepts(double value) const { return std::isfinite(value) && (!log || value > 0); }
    double transform(double value) const { return log ? std::log10(value) : value; }
    // 0 at the domain's start, 1 at its end; beyond the domain for values outside it.
    double unit(double value) const { return (transform(value) - lo) / (hi - lo); }
    double value_at(double unit_position) const {
        const double t = lo + unit_position * (hi - lo);
        return log ? std::pow(10.0, t) : t;
    }
};

// The nearest value of the form {1, 2, 5} × 10^k below (or above) `value` > 0: log axes end on a
// round number, without the up to ninefold empty stretch that rounding out to whole decades leaves.
inline double round_out_125(double value, bool up) {
    double power = std::pow(10.0, std::floor(std::log10(value)));
    double mantissa = value / power;
    if (mantissa >= 10 * (1 - 1e-12)) power *= 10, mantissa /= 10;  // log10 rounded just below a power of ten
    if (up) {
        for (const double m : {1.0, 2.0, 5.0})
            if (mantissa <= m * (1 + 1e-9)) return m * power;
        return 10 * power;
    }
    for (const double m : {5.0, 2.0})
        if (mantissa >= m * (1 - 1e-9)) return m * power;
    return power;
}

// How a scale's domain is chosen from the data where the axis does not fix it.
struct domain_options {
    bool include_zero = false;  // bar and histogram heights start at zero
    bool round_out = true;      // extend to the next tick (linear) or 1, 2 or 5 × 10^k (log)
    int tick_target = 6;
    double min_step = 0;  // 1 for counts: no tick at half a value
};

// The scale for an axis with optional fixed ends, given the accepted data values. With no data and
// no fixed ends the domain is [0, 1] (or [1, 10] on a log axis); equal ends are padded apart.
inline scale make_scale(bool log, std::optional<double> fixed_min, std::optional<double> fixed_max, value_range data,
                        const domain_options& options = {}) {
    scale s;
    s.log = log;
    const auto usable = [&](std::optional<double> v) { return v && s.accepts(*v) ? v : std::nullopt; };
    fixed_min = usable(fixed_min), fixed_max = usable(fixed_max);
    if (fixed_min && fixed_max && *fixed_min > *fixed_max) std::swap(fixed_min, fixed_max);
    if (data.empty()) data = log ? value_range{1, 10} : value_range{0, 1};
    double lo = fixed_min.value_or(data.lo), hi = fixed_max.value_or(data.hi);
    if (options.include_zero && !log) {
        if (!fixed_min) lo = std::min(lo, 0.0);
        if (!fixed_max) hi = std::max(hi, 0.0);
    }
    if (!(hi > lo)) {
        // A single value (or a fixed end beyond the data): widen whichever ends are free.
        if (log) {
            if (fixed_min) hi = lo * 10;
            else if (fixed_max) lo = hi / 10;
            else lo /= 10, hi *= 10;
        } else {
            const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
            if (fixed_min) hi = lo + 2 * pad;
            else if (fixed_max) lo = hi - 2 * pad;
            else lo -= pad, hi += pad;
        }
    }
    if (log) {
        if (options.round_out) {
            if (!fixed_min) lo = round_out_125(lo, false);
            if (!fixed_max) hi = round_out_125(hi, true);
        }
        s.lo = std::log10(lo), s.hi = std::log10(hi);
        s.ticks = log_ticks(lo, hi);
    } else {
        const double step = std::max(nice_step(hi - lo, options.tick_target), options.min_step);
        if (options.round_out) {
            if (!fixed_min) lo = std::floor(lo / step + 1e-9) * step;
            if (!fixed_max) hi = std::ceil(hi / step - 1e-9) * step;
        }
        s.lo = lo, s.hi = hi;
        s.ticks = linear_ticks_with_step(lo, hi, step);
    }
    return s;
}

}  // namespace sparse_distill::report::detail
