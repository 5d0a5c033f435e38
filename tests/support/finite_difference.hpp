#pragma once
// Finite differences for the gradient tests (double precision).

namespace sd_test {

/// Fourth-order central difference of f with respect to `parameter` (restored afterwards):
/// (−f(θ+2h) + 8f(θ+h) − 8f(θ−h) + f(θ−2h)) / 12h. Truncation O(h⁴) and rounding O(ε·|f|/h) both stay
/// near 1e-11 at h = 1e-4, which a two-point difference cannot reach (its best is ~1e-9).
template <class F>
double central_difference(double& parameter, F&& f, double h = 1e-4) {
    const double saved = parameter;
    auto at = [&](double offset) {
        parameter = saved + offset;
        return f();
    };
    const double derivative = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
    parameter = saved;
    return derivative;
}

}  // namespace sd_test
