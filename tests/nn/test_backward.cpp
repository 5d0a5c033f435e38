// Every gradient of the student checked against central finite differences of the loss, in double.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <support/finite_difference.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace nn_backward_test {

struct gradient_check_result {
    double max_relative_error = 0;
    std::string worst_parameter;
};

/// Relative error of one partial derivative; the floor keeps a zero gradient (e.g. a dead ReLU
/// feature's encoder row) from dividing by zero while still demanding ~1e-10 absolute agreement.
double relative_error(double analytic, double numeric) {
    return std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), 1e-4});
}

gradient_check_result check_gradients(const sd::student_config& config, const sd::loss_settings& loss) {
    const sd::index_t batch = 6;
    sd::student_mlp<double> student(config, 17);
    // Biases start at zero under the default init: give them values so their gradients are generic.
    double* p = student.parameters();
    const sd::random::counter_rng jitter(5, 77);
    for (sd::index_t i = 0; i < student.parameter_count(); ++i) p[i] += 0.3 * jitter.normal(static_cast<std::uint64_t>(i));

    sd::matrix<double> x(batch, config.d_in);
    sd::random::fill_normal(x, sd::random::counter_rng(9, 1));
    sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(config.d_in, 11, sd::activation::gelu, 3));
    const sd::matrix<double> y = teacher.forward(x);

    sd::student_workspace<double> ws;
    const auto loss_at = [&]() {
        return sd::loss_and_gradients(student, sd::view(x), sd::view(y), loss, ws).loss;
    };
    sd::loss_and_gradients(student, sd::view(x), sd::view(y), loss, ws);
    const Eigen::VectorXd analytic = Eigen::Map<const Eigen::VectorXd>(student.gradients(), student.parameter_count());

    gradient_check_result result;
    for (sd::index_t i = 0; i < student.parameter_count(); ++i) {
        const double numeric = sd_test::central_difference(p[i], loss_at);
        const double err = relative_error(analytic[i], numeric);
        if (err > result.max_relative_error) {
            result.max_relative_error = err;
            result.worst_parameter = "flat index_t " + std::to_string(i) + " (analytic " + std::to_string(analytic[i]) +
                                     ", numeric " + std::to_string(numeric) + ")";
        }
    }
    return result;
}


TEST_CASE("student backward matches central finite differences (double)") {
    for (const sd::activation act : {sd::activation::relu, sd::activation::gelu, sd::activation::gelu_tanh})
        for (const sd::l1_reduction reduction : {sd::l1_reduction::batch_mean, sd::l1_reduction::batch_sum})
            for (const sd::pre_bias pre : {sd::pre_bias::none, sd::pre_bias::learned, sd::pre_bias::tied_decoder})
                for (const bool biases : {true, false}) {
                    if (pre == sd::pre_bias::tied_decoder && !biases) continue;
                    sd::student_config config;
                    config.d_in = config.d_out = 5;
                    config.d_sae = 9;
                    config.act = act;
                    config.biases = biases;
                    config.pre_bias = pre;
                    sd::loss_settings loss;
                    loss.l1_coeff = 0.05;
                    loss.l1_reduction = reduction;
                    CAPTURE(sd::to_string(act));
                    CAPTURE(sd::to_string(reduction));
                    CAPTURE(sd::to_string(pre));
                    CAPTURE(biases);
                    const gradient_check_result r = check_gradients(config, loss);
                    CAPTURE(r.worst_parameter);
                    MESSAGE("max relative error " << r.max_relative_error);
                    CHECK(r.max_relative_error < 1e-6);
                }
}

TEST_CASE("student backward: a rectangular student (d_in != d_out) also checks out") {
    sd::student_config config;
    config.d_in = 4;
    config.d_out = 6;
    config.d_sae = 7;
    config.act = sd::activation::gelu;
    config.pre_bias = sd::pre_bias::learned;
    sd::loss_settings loss;
    loss.l1_coeff = 0.02;
    // The teacher in check_gradients maps d_in → d_in; build this case by hand instead.
    sd::student_mlp<double> student(config, 4);
    double* p = student.parameters();
    const sd::random::counter_rng jitter(6, 78);
    for (sd::index_t i = 0; i < student.parameter_count(); ++i) p[i] += 0.3 * jitter.normal(static_cast<std::uint64_t>(i));
    sd::matrix<double> x(5, 4), y(5, 6);
    sd::random::fill_normal(x, sd::random::counter_rng(1, 1));
    sd::random::fill_normal(y, sd::random::counter_rng(1, 2));
    sd::student_workspace<double> ws;
    sd::loss_and_gradients(student, sd::view(x), sd::view(y), loss, ws);
    const Eigen::VectorXd analytic = Eigen::Map<const Eigen::VectorXd>(student.gradients(), student.parameter_count());
    double worst = 0;
    for (sd::index_t i = 0; i < student.parameter_count(); ++i) {
        const double numeric = sd_test::central_difference(
            p[i], [&] { return sd::loss_and_gradients(student, sd::view(x), sd::view(y), loss, ws).loss; });
        worst = std::max(worst, relative_error(analytic[i], numeric));
    }
    CHECK(worst < 1e-6);
}

TEST_CASE("loss terms: loss = mse + λ·l1, and the reductions differ by the batch size") {
    sd::student_config config;
    config.d_in = config.d_out = 3;
    config.d_sae = 4;
    sd::student_mlp<double> student(config, 1);
    sd::matrix<double> x(2, 3), y(2, 3);
    x << 1, -2, 0.5, 0.3, 0.1, -1;
    y << 0.2, 0.1, -0.3, 1, 0, 0.5;
    sd::student_workspace<double> ws;
    sd::loss_settings mean_loss{0.1, sd::l1_reduction::batch_mean};
    sd::loss_settings sum_loss{0.1, sd::l1_reduction::batch_sum};
    const sd::loss_terms a = sd::loss_and_gradients(student, sd::view(x), sd::view(y), mean_loss, ws);
    const sd::loss_terms b = sd::loss_and_gradients(student, sd::view(x), sd::view(y), sum_loss, ws);
    // Recompute by hand from the host forward pass.
    const sd::matrix<double> act = student.encode(x), pred = student.predict(x);
    CHECK(a.mse == doctest::Approx((pred - y).squaredNorm() / 2).epsilon(1e-14));
    CHECK(a.l1 == doctest::Approx(act.cwiseAbs().sum() / 2).epsilon(1e-14));
    CHECK(b.l1 == doctest::Approx(act.cwiseAbs().sum()).epsilon(1e-14));
    CHECK(a.l0 == doctest::Approx(double((act.array() > 0).count()) / 2));
    CHECK(a.loss == doctest::Approx(a.mse + 0.1 * a.l1).epsilon(1e-15));
    CHECK(b.loss == doctest::Approx(b.mse + 0.1 * b.l1).epsilon(1e-15));
}

}  // namespace nn_backward_test
