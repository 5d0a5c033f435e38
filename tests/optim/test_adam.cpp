// Adam(W) against values worked out by hand (in Python, from the formulas in optim/adam.hpp):
// θ = (1, −2), gradients (0.5, 0.1) then (−0.25, 0.3), lr 0.1, β = (0.9, 0.999), ε = 1e-8, wd 0.01.
#include <doctest/doctest.h>
#include <sparse_distill/optim.hpp>

namespace sdo = sparse_distill::optim;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace optim_adam_test {
void two_steps(sdo::weight_decay_mode mode, double expected_after_1[2], double expected_after_2[2]) {
    sdo::adam settings;
    settings.weight_decay = 0.01;
    settings.weight_decay_mode = mode;
    sdo::adam_state<double> state;
    double theta[2] = {1.0, -2.0};
    const double g1[2] = {0.5, 0.1}, g2[2] = {-0.25, 0.3};
    state.update(settings, 0.1, theta, g1, 2);
    CHECK(theta[0] == doctest::Approx(expected_after_1[0]).epsilon(1e-14));
    CHECK(theta[1] == doctest::Approx(expected_after_1[1]).epsilon(1e-14));
    state.update(settings, 0.1, theta, g2, 2);
    CHECK(theta[0] == doctest::Approx(expected_after_2[0]).epsilon(1e-14));
    CHECK(theta[1] == doctest::Approx(expected_after_2[1]).epsilon(1e-14));
    CHECK(state.steps() == 2);
    // m after two steps: 0.9·(0.1·g1) + 0.1·g2 (plus the L2 term when coupled).
    if (mode == sdo::weight_decay_mode::decoupled) CHECK(state.first_moment()[0] == doctest::Approx(0.9 * 0.05 - 0.025));
}

TEST_CASE("AdamW (decoupled weight decay): two steps by hand") {
    // Step 1, θ0: m̂ = 0.5, v̂ = 0.25 → θ = 1·(1 − 0.1·0.01) − 0.1·0.5/(0.5 + 1e-8) = 0.899000002.
    double after1[2] = {0.899000002, -2.097999990000001};
    double after2[2] = {0.8714672987058463, -2.1876800978044098};
    two_steps(sdo::weight_decay_mode::decoupled, after1, after2);
}

TEST_CASE("Adam with coupled L2 weight decay: two steps by hand") {
    // Step 1, θ0: g = 0.5 + 0.01·1 = 0.51 → θ = 1 − 0.1·0.51/(0.51 + 1e-8).
    double after1[2] = {0.9000000019607843, -2.0999999875000017};
    double after2[2] = {0.8712293476231743, -2.189994210661293};
    two_steps(sdo::weight_decay_mode::coupled, after1, after2);
}

TEST_CASE("adam_state builds its moments on first use and refuses another size") {
    sdo::adam_state<float> state;
    CHECK(state.size() == 0);
    float theta[3] = {1, 2, 3};
    const float g[3] = {0.1f, 0.2f, 0.3f};
    state.update(sdo::adam{}, 1e-3, theta, g, 3);
    CHECK(state.size() == 3);
    CHECK_THROWS_AS(state.update(sdo::adam{}, 1e-3, theta, g, 2), std::invalid_argument);
}

TEST_CASE("adam settings are validated") {
    sdo::adam a;
    a.beta1 = 1.0;
    CHECK_THROWS_AS(a.validate(), std::invalid_argument);
    a = sdo::adam{};
    a.eps = 0;
    CHECK_THROWS_AS(a.validate(), std::invalid_argument);
}

}  // namespace optim_adam_test
