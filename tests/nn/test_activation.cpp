// Activation values and derivatives against known values (computed independently with Python's
// math.erf / math.tanh, printed with repr).
#include <doctest/doctest.h>
#include <sparse_distill/backend/cpu.hpp>
#include <sparse_distill/nn/activation.hpp>

#include <cmath>

namespace sd = sparse_distill;

TEST_CASE("gelu (erf) values") {
    // gelu(z) = z·Φ(z); Φ(1) = 0.8413447460685429, Φ(-1) = 0.15865525393145707, Φ(2) = 0.9772498680518208
    CHECK(sd::activate(sd::activation::gelu, 0.0) == 0.0);
    CHECK(sd::activate(sd::activation::gelu, 1.0) == doctest::Approx(0.8413447460685429).epsilon(1e-15));
    CHECK(sd::activate(sd::activation::gelu, -1.0) == doctest::Approx(-0.15865525393145707).epsilon(1e-15));
    CHECK(sd::activate(sd::activation::gelu, 2.0) == doctest::Approx(1.9544997361036416).epsilon(1e-15));
    CHECK(sd::activate(sd::activation::gelu, -3.0) == doctest::Approx(-0.00404969409489031).epsilon(1e-13));
}

TEST_CASE("gelu_tanh (gelu_new) values") {
    // ½z(1 + tanh(√(2/π)(z + 0.044715z³))) at z = 1: tanh(0.8370795...) = 0.6841...
    CHECK(sd::activate(sd::activation::gelu_tanh, 1.0) == doctest::Approx(0.8411919906082768).epsilon(1e-14));
    CHECK(sd::activate(sd::activation::gelu_tanh, -1.0) == doctest::Approx(-0.15880800939172324).epsilon(1e-14));
    CHECK(sd::activate(sd::activation::gelu_tanh, 2.0) == doctest::Approx(1.954597694087775).epsilon(1e-14));
    CHECK(sd::activate(sd::activation::gelu_tanh, 0.0) == 0.0);
}

TEST_CASE("gelu derivatives: closed forms and finite differences") {
    // d/dz gelu at 0 is ½; at 1 it is Φ(1) + φ(1) = 0.8413447460685429 + 0.24197072451914337.
    CHECK(sd::activate_derivative(sd::activation::gelu, 0.0) == doctest::Approx(0.5).epsilon(1e-15));
    CHECK(sd::activate_derivative(sd::activation::gelu, 1.0) == doctest::Approx(1.0833154705876864).epsilon(1e-14));
    CHECK(sd::activate_derivative(sd::activation::gelu_tanh, 0.0) == doctest::Approx(0.5).epsilon(1e-15));
    for (const sd::activation a : {sd::activation::gelu, sd::activation::gelu_tanh, sd::activation::relu, sd::activation::silu}) {
        for (double z : {-3.1, -1.2, -0.4, 0.3, 0.9, 2.5}) {
            const double h = 1e-6;
            const double numeric = (sd::activate(a, z + h) - sd::activate(a, z - h)) / (2 * h);
            CAPTURE(z);
            CHECK(sd::activate_derivative(a, z) == doctest::Approx(numeric).epsilon(1e-8));
        }
    }
}

TEST_CASE("silu values: z·σ(z)") {
    CHECK(sd::activate(sd::activation::silu, 0.0) == 0.0);
    CHECK(sd::activate(sd::activation::silu, 1.0) == doctest::Approx(0.7310585786300049).epsilon(1e-14));
    CHECK(sd::activate(sd::activation::silu, -2.0) == doctest::Approx(-0.23840584404423515).epsilon(1e-14));
    CHECK(sd::activate_derivative(sd::activation::silu, 0.0) == doctest::Approx(0.5).epsilon(1e-15));
}

TEST_CASE("relu and its derivative, 0 at the kink as torch") {
    CHECK(sd::activate(sd::activation::relu, -2.0) == 0.0);
    CHECK(sd::activate(sd::activation::relu, 3.5f) == 3.5f);
    CHECK(sd::activate_derivative(sd::activation::relu, 0.0) == 0.0);
    CHECK(sd::activate_derivative(sd::activation::relu, 1e-30) == 1.0);
}

TEST_CASE("activation names parse and print") {
    CHECK(sd::parse_activation("gelu_new") == sd::activation::gelu_tanh);
    CHECK(sd::to_string(sd::parse_activation("gelu")) == "gelu");
    CHECK(sd::parse_activation("swish") == sd::activation::silu);
    CHECK_THROWS_WITH_AS(sd::parse_activation("tanh"), doctest::Contains("expected relu, gelu, gelu_tanh or silu"),
                         std::invalid_argument);
}

TEST_CASE("the CPU's vectorised GELU never fires for z ≤ 0 in float (Eigen's erf overshoots −1 in the far tail)") {
    // Found by the CUDA suite: the CPU counted a few more active GELU features than the GPU, from
    // tiny positive GELU(z) at z < −5.66 where Eigen's float erf returns −1 − 1ulp.
    const Eigen::Index n = 4001;
    sd::matrix<float> z(1, n), a(1, n);
    for (Eigen::Index i = 0; i < n; ++i) z(0, i) = -20.0f + 20.0f * float(i) / float(n - 1);  // [−20, 0]
    for (const sd::activation act : {sd::activation::gelu, sd::activation::gelu_tanh, sd::activation::silu}) {
        CAPTURE(sd::to_string(act));
        sd::matrix<float> zc = z;
        const auto sums = sd::backend::bias_activate<sd::backend::cpu>(sd::view(zc), sd::vector_view<const float>{}, act, sd::view(a));
        CHECK(sums.positive_count == 0);
        CHECK((a.array() <= 0.0f).all());
    }
}
