// The sparse path of a ReLU student (decoder and gradients from the active pairs only) gives the same
// prediction, loss and gradients as the dense path, in double and float, with and without biases and
// pre-biases, square and rectangular; the threshold is strict (a density equal to it stays dense).
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include <cmath>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace nn_sparse_path_test {
template <class Scalar>
struct step_result {
    sd::loss_terms terms;
    std::vector<Scalar> gradients;
    bool sparse = false;
};

template <class Scalar>
step_result<Scalar> one_step(sd::student_config c, double sparse_below, const sd::matrix<Scalar>& x, const sd::matrix<Scalar>& y) {
    c.sparse_below_density = sparse_below;
    sd::student_mlp<Scalar> student(c, 5);
    auto w = student.weights();
    // Shift b_enc down so that only a fraction of the activations are positive, as after training.
    if (w.b_enc.size() > 0) w.b_enc.setConstant(Scalar(-0.25));
    else w.w_enc.array() -= Scalar(0.05);
    student.load(w);
    sd::student_workspace<Scalar> ws;
    ws.reserve(x.rows(), c);
    sd::loss_settings loss;
    loss.l1_coeff = 0.01;
    step_result<Scalar> r;
    r.terms = sd::loss_and_gradients(student, sd::view(x), sd::view(y), loss, ws);
    r.sparse = ws.sparse;
    r.gradients.assign(student.gradients(), student.gradients() + student.parameter_count());
    return r;
}

template <class Scalar>
void check_paths_agree(sd::student_config c, double tolerance, sd::index_t d_in = 12, sd::index_t d_out = 12) {
    c.d_in = d_in;
    c.d_out = d_out;
    c.d_sae = 40;
    sd::matrix<Scalar> x(30, d_in), y(30, d_out);
    sd::random::fill_normal(x, sd::random::counter_rng(11, 1));
    sd::random::fill_normal(y, sd::random::counter_rng(11, 2));
    const auto dense = one_step<Scalar>(c, 0.0, x, y);
    const auto sparse = one_step<Scalar>(c, 1.0, x, y);
    REQUIRE_FALSE(dense.sparse);
    REQUIRE(sparse.sparse);
    CHECK(dense.terms.l0 > 0);
    CHECK(dense.terms.l0 < 0.6 * 40);  // genuinely sparse: most pairs inactive
    CHECK(sparse.terms.loss == doctest::Approx(dense.terms.loss).epsilon(tolerance));
    CHECK(sparse.terms.l0 == dense.terms.l0);
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < dense.gradients.size(); ++i) {
        worst = std::max(worst, std::abs(double(dense.gradients[i]) - double(sparse.gradients[i])));
        scale = std::max(scale, std::abs(double(dense.gradients[i])));
    }
    CHECK(scale > 0);
    CHECK(worst <= tolerance * scale);
}

TEST_CASE_TEMPLATE("sparse and dense paths agree: biases, no biases, learned and tied pre-bias", Scalar, double, float) {
    const double tolerance = std::is_same_v<Scalar, double> ? 1e-12 : 2e-5;
    sd::student_config c;
    check_paths_agree<Scalar>(c, tolerance);
    c.biases = false;
    check_paths_agree<Scalar>(c, tolerance);
    c.biases = true;
    c.pre_bias = sd::pre_bias::learned;
    check_paths_agree<Scalar>(c, tolerance);
    c.pre_bias = sd::pre_bias::tied_decoder;
    check_paths_agree<Scalar>(c, tolerance);
}

TEST_CASE_TEMPLATE("sparse and dense paths agree for a rectangular student (d_in != d_out)", Scalar, double, float) {
    const double tolerance = std::is_same_v<Scalar, double> ? 1e-12 : 2e-5;
    sd::student_config c;
    check_paths_agree<Scalar>(c, tolerance, 12, 7);
    check_paths_agree<Scalar>(c, tolerance, 5, 16);
    c.biases = false;
    check_paths_agree<Scalar>(c, tolerance, 12, 7);
    c.biases = true;
    c.pre_bias = sd::pre_bias::learned;
    check_paths_agree<Scalar>(c, tolerance, 12, 7);
}

TEST_CASE("the density threshold is strict: a batch exactly at it takes the dense path, one pair below it the sparse path") {
    // 32 rows × 32 latents: densities are multiples of 1/1024, exact in double, so the threshold can
    // be set to the batch's own density.
    sd::student_config c;
    c.d_in = c.d_out = 12;
    c.d_sae = 32;
    sd::matrix<double> x(32, 12), y(32, 12);
    sd::random::fill_normal(x, sd::random::counter_rng(17, 1));
    sd::random::fill_normal(y, sd::random::counter_rng(17, 2));
    const auto dense = one_step<double>(c, 0.0, x, y);
    const double active = dense.terms.l0 * 32;  // active (row, latent) pairs
    REQUIRE(active == std::round(active));
    REQUIRE(active > 0);
    REQUIRE(active < 1024);
    const auto at = one_step<double>(c, active / 1024, x, y);
    const auto above = one_step<double>(c, (active + 1) / 1024, x, y);
    CHECK_FALSE(at.sparse);  // active < threshold · rows · d_sae fails at equality
    CHECK(above.sparse);
    CHECK(above.terms.loss == doctest::Approx(at.terms.loss).epsilon(1e-12));
    CHECK(at.gradients == dense.gradients);
}

TEST_CASE("the sparse path is taken only for ReLU and below the density threshold") {
    sd::student_config c;
    c.d_in = c.d_out = 12;
    c.d_sae = 40;
    sd::matrix<double> x(30, 12), y(30, 12);
    sd::random::fill_normal(x, sd::random::counter_rng(3, 1));
    sd::random::fill_normal(y, sd::random::counter_rng(3, 2));
    CHECK_FALSE(one_step<double>(c, 0.001, x, y).sparse);  // density is far above 0.1%
    c.act = sd::activation::gelu;
    CHECK_FALSE(one_step<double>(c, 1.0, x, y).sparse);    // GELU is never exactly 0
    c.sparse_below_density = 2;
    CHECK_THROWS_WITH(c.validate(), doctest::Contains("sparse_below_density"));
}

TEST_CASE("a workspace with allow_sparse = false keeps a ReLU student on the dense path") {
    sd::student_config c;
    c.d_in = c.d_out = 12;
    c.d_sae = 40;
    c.sparse_below_density = 1.0;  // sparse whenever the activation allows
    sd::student_mlp<double> student(c, 5);
    sd::matrix<double> x(30, 12);
    sd::random::fill_normal(x, sd::random::counter_rng(3, 1));
    sd::student_workspace<double> ws;
    ws.reserve(30, c);
    student.forward(sd::view(x), ws);
    CHECK(ws.sparse);
    ws.allow_sparse = false;  // what a captured CUDA graph step needs
    student.forward(sd::view(x), ws);
    CHECK_FALSE(ws.sparse);
}

}  // namespace nn_sparse_path_test
