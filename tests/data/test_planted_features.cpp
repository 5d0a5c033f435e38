// The planted-feature source: ground truth that matches the data, determinism, statistics.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

namespace sd = sparse_distill;

TEST_CASE("planted features: each token is the sum of its active features plus noise") {
    sd::data::planted_feature_settings s;
    s.dim = 16;
    s.features = 40;
    s.probability = 0.1;
    s.noise_stddev = 0;
    sd::data::planted_feature_source<double> src(s, 7);
    CHECK(src.directions().rowwise().norm().minCoeff() == doctest::Approx(1.0));
    sd::matrix<double> x(300, 16);
    src.next_batch(x);
    double active = 0;
    for (sd::index_t t = 0; t < 300; ++t) {
        Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(16);
        sd::index_t last = -1;
        src.for_each_active(std::uint64_t(t), [&](sd::index_t f, double m) {
            CHECK(f > last);
            CHECK(f < 40);
            CHECK(m >= s.magnitude_min);
            CHECK(m < s.magnitude_max);
            last = f;
            sum += m * src.directions().row(f);
            ++active;
        });
        CHECK((x.row(t) - sum).norm() < 1e-12);
    }
    // Each of 12000 (token, feature) pairs is active with p = 0.1: 1200 ± 33 (1 sd).
    CHECK(active > 1200 - 150);
    CHECK(active < 1200 + 150);
}

TEST_CASE("planted features: same tokens for any batch split, seek resumes, E‖x‖² as documented") {
    sd::data::planted_feature_settings s;
    sd::data::planted_feature_source<float> a(s, 3), b(s, 3);
    sd::matrix<float> big(256, s.dim), half(128, s.dim);
    a.next_batch(big);
    b.next_batch(half);
    CHECK(big.topRows(128) == half);
    b.next_batch(half);
    CHECK(big.bottomRows(128) == half);
    b.seek(0);
    b.next_batch(half);
    CHECK(big.topRows(128) == half);

    sd::data::planted_feature_source<double> c(s, 9);
    sd::matrix<double> many(20000, s.dim);
    c.next_batch(many);
    const double mean_sq = many.rowwise().squaredNorm().mean();
    CHECK(mean_sq == doctest::Approx(s.expected_squared_norm()).epsilon(0.05));
}

TEST_CASE("planted features: impossible settings are refused with the field's name") {
    sd::data::planted_feature_settings s;
    s.probability = 1.5;
    CHECK_THROWS_WITH(sd::data::planted_feature_source<float>(s, 1), doctest::Contains("probability"));
    s = {};
    s.magnitude_max = 0.1;
    CHECK_THROWS_WITH(sd::data::planted_feature_source<float>(s, 1), doctest::Contains("magnitudes"));
    s = {};
    sd::data::planted_feature_source<float> ok(s, 1);
    sd::matrix<float> wrong(4, s.dim + 1);
    CHECK_THROWS_WITH(ok.next_batch(wrong), doctest::Contains("columns"));
}

TEST_CASE("teacher_output_source: an SAE's input and target are both the teacher's output") {
    const auto w = sd::random_mlp_weights<double>(6, 12, sd::activation::gelu, 2);
    sd::teacher_mlp<double> teacher(w);
    sd::data::gaussian_source<double> inputs(6, 4), again(6, 4);
    sd::data::teacher_output_source sae_data(inputs, teacher);
    sd::matrix<double> x(10, 6), y(10, 6), raw(10, 6);
    REQUIRE(sae_data.next_batch(x, y));
    again.next_batch(raw);
    CHECK(x == y);
    CHECK((y - teacher.forward(raw)).norm() == 0);
}
