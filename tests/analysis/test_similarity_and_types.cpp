// Decoder/encoder similarity, feature types, encoder–decoder consistency and clusters on constructed
// students whose answers are known.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include "analysis/constructed_models.hpp"

#include <algorithm>
#include <sstream>
#include <string>

namespace sd = sparse_distill;
namespace an = sparse_distill::analysis;

TEST_CASE("best_cosine_matches: the signed maximum and its index, zero vectors match nothing") {
    sd::matrix<double> rows(4, 2), cand(3, 2);
    rows << 1, 0,    // e0 → candidate 0 exactly
        0, -1,       // −e1 → best is candidate 0 (cos 0), above candidate 2 (−1/√2) and 1 (−1)
        0, 0,        // zero: no direction
        3, 3;        // (1,1)/√2 → candidate 2 exactly
    cand << 2, 0,    // e0
        0, 5,            // e1
        1, 1;            // (1,1)/√2
    const auto m = an::best_cosine_matches(rows, cand);
    REQUIRE(m.size() == 4);
    CHECK(m[0].index == 0);
    CHECK(m[0].cosine == doctest::Approx(1.0));
    CHECK(m[1].index == 0);
    CHECK(m[1].cosine == doctest::Approx(0.0));
    CHECK(m[2].index == -1);
    CHECK(m[3].index == 2);
    CHECK(m[3].cosine == doctest::Approx(1.0));
    // A zero candidate never wins, even when every real candidate points the other way.
    sd::matrix<double> down(1, 2), zero_first(2, 2);
    down << 0, -1;
    zero_first << 0, 0, 0, 1;
    const auto z = an::best_cosine_matches(down, zero_first);
    CHECK(z[0].index == 1);
    CHECK(z[0].cosine == doctest::Approx(-1.0));
    sd::matrix<double> wrong(1, 3);
    CHECK_THROWS_WITH(an::best_cosine_matches(wrong, cand), doctest::Contains("3 entries"));
}

TEST_CASE("a student made of copies of the teacher's neurons is 100% simulators, consistent, r = 1") {
    const auto [teacher_w, student_w, config] = sd::testing::copied_teacher(/*dead_neuron=*/false);
    sd::teacher_mlp<double> teacher(teacher_w);
    const sd::student_mlp<double> student(config, student_w);
    auto eval = sd::testing::gaussian_eval(teacher, 4000);
    const auto a = an::analyse_student(student, teacher, eval);
    CHECK(a.counts.simulators == config.d_sae);
    CHECK(a.counts.sparse == 0);
    CHECK(a.counts.dead == 0);
    for (std::size_t j = 0; j < a.decoder_matches.size(); ++j) {
        CHECK(a.decoder_matches[j].index == static_cast<sd::index_t>(j));
        CHECK(a.decoder_matches[j].cosine == doctest::Approx(1.0));
        CHECK(a.encoder_matches[j].index == static_cast<sd::index_t>(j));
    }
    CHECK(a.consistency.fraction() == 1.0);
    CHECK(a.consistency.pairs.size() == static_cast<std::size_t>(config.d_sae));
    REQUIRE(a.correlations.simulators.size() == static_cast<std::size_t>(config.d_sae));
    for (const auto& s : a.correlations.simulators) CHECK(s.pearson == doctest::Approx(1.0).epsilon(1e-9));
    CHECK(a.correlations.sample_student.size() == 2000);
    CHECK(a.correlations.sample_student == a.correlations.sample_teacher);
    CHECK(a.ablation.full.mse == doctest::Approx(0.0).epsilon(1e-20));
    CHECK(a.ablation.full.fvu < 1e-24);
    CHECK(a.clusters.neurons_with(1) == teacher.d_mlp());
    CHECK(a.clusters.neurons_covered() == teacher.d_mlp());
}

TEST_CASE("a neuron that never fires gives a dead student feature, counted dead and not a simulator") {
    const auto [teacher_w, student_w, config] = sd::testing::copied_teacher(/*dead_neuron=*/true);
    sd::teacher_mlp<double> teacher(teacher_w);
    const sd::student_mlp<double> student(config, student_w);
    const auto a = an::analyse_student(student, teacher, sd::testing::gaussian_eval(teacher, 2000));
    CHECK(a.counts.dead == 1);
    CHECK(a.types[0] == an::feature_type::dead);
    CHECK(a.activity.fire_counts[0] == 0);
    CHECK(a.activity.dead_fraction() == doctest::Approx(1.0 / double(config.d_sae)));
    CHECK(a.counts.simulators == config.d_sae - 1);
    CHECK(a.clusters.neurons_with(0) == 1);  // neuron 0 has no live simulator
}

TEST_CASE("feature types: threshold on the max decoder cosine, dead first") {
    const std::vector<an::best_match> m = {{0.95, 0}, {0.8, 1}, {0.81, 1}, {0.99, 2}, {-0.9, 0}};
    const std::vector<std::int64_t> fires = {10, 10, 3, 0, 5};
    const auto t = an::classify_features(m, fires, 0.8);
    CHECK(t == std::vector<an::feature_type>{an::feature_type::neuron_simulator, an::feature_type::sparse_feature,
                                             an::feature_type::neuron_simulator, an::feature_type::dead,
                                             an::feature_type::sparse_feature});
    const auto c = an::count_feature_types(t);
    CHECK(c.simulators == 2);
    CHECK(c.sparse == 2);
    CHECK(c.dead == 1);
    CHECK(c.fraction(c.sparse) == doctest::Approx(0.4));
    CHECK_THROWS(an::classify_features(m, {1, 2}, 0.8));
    CHECK_THROWS_WITH(an::classify_features(m, fires, -0.1), doctest::Contains("[0, 1)"));
    // A live feature without any match (index −1) is never a simulator.
    CHECK(an::classify_features({{0.0, -1}}, {5}, 0.0)[0] == an::feature_type::sparse_feature);
}

TEST_CASE("encoder–decoder consistency counts simulators whose two matches agree") {
    using an::feature_type;
    const std::vector<an::best_match> enc = {{0.3, 4}, {0.2, 1}, {0.4, 2}, {0.1, 7}};
    const std::vector<an::best_match> dec = {{0.9, 4}, {0.9, 3}, {0.1, 2}, {0.95, 7}};
    const std::vector<feature_type> types = {feature_type::neuron_simulator, feature_type::neuron_simulator,
                                             feature_type::sparse_feature, feature_type::neuron_simulator};
    const auto m = an::encoder_decoder_consistency(enc, dec, types);
    REQUIRE(m.pairs.size() == 3);
    CHECK(m.consistent == 2);
    CHECK(m.fraction() == doctest::Approx(2.0 / 3.0));
    CHECK(m.pairs[1].feature == 1);
    CHECK(m.pairs[1].encoder_neuron == 1);
    CHECK(m.pairs[1].decoder_neuron == 3);
}

TEST_CASE("clusters: each teacher neuron copied twice gives pairs of identical encoders") {
    const auto [teacher_w, student_w, config] = sd::testing::copied_teacher(false, /*copies=*/2);
    sd::teacher_mlp<double> teacher(teacher_w);
    const sd::student_mlp<double> student(config, student_w);
    const auto a = an::analyse_student(student, teacher, sd::testing::gaussian_eval(teacher, 1000));
    CHECK(a.counts.simulators == 2 * teacher.d_mlp());
    CHECK(a.clusters.neurons_with(2) == teacher.d_mlp());
    CHECK(a.clusters.neurons_with(1) == 0);
    CHECK(a.clusters.mean_within_cluster_encoder_cosine == doctest::Approx(1.0));
    CHECK(a.ablation.full.mse < 1e-20);  // two half-decoders sum to the neuron's output
}

TEST_CASE("simulator correlation pairs each simulator with its own neuron and matches a two-pass Pearson") {
    auto m = sd::testing::copied_teacher(false);
    // Feature j copies neuron 5 − j (a permutation), and feature 0 fires on z + 0.5 instead of z,
    // so its correlation with neuron 5 is below 1 but its decoder is still an exact copy.
    const auto copy = m.student;
    for (sd::index_t j = 0; j < 6; ++j) {
        m.student.w_enc.row(j) = copy.w_enc.row(5 - j);
        m.student.b_enc(j) = copy.b_enc(5 - j);
        m.student.w_dec.row(j) = copy.w_dec.row(5 - j);
    }
    m.student.b_enc(0) += 0.5;
    sd::teacher_mlp<double> teacher(m.teacher);
    const sd::student_mlp<double> student(m.config, m.student);
    const auto eval = sd::testing::gaussian_eval(teacher, 3000);
    const auto a = an::analyse_student(student, teacher, eval);
    REQUIRE(a.correlations.simulators.size() == 6);
    for (const auto& s : a.correlations.simulators) CHECK(s.neuron == 5 - s.feature);
    const Eigen::VectorXd x = student.encode(eval.student_input).col(0);
    const Eigen::VectorXd y = teacher.hidden(eval.teacher_input).col(5);
    const Eigen::VectorXd xc = x.array() - x.mean(), yc = y.array() - y.mean();
    const double expected = xc.dot(yc) / (xc.norm() * yc.norm());
    CHECK(expected < 0.999);
    CHECK(a.correlations.simulators[0].pearson == doctest::Approx(expected).epsilon(1e-9));
    CHECK(a.correlations.simulators[1].pearson == doctest::Approx(1.0).epsilon(1e-9));
    CHECK(a.correlations.sample_feature == 0);
    CHECK(a.correlations.sample_neuron == 5);
}

TEST_CASE("analysis JSON and the per-feature CSV carry the analysis") {
    const auto [teacher_w, student_w, config] = sd::testing::copied_teacher(/*dead_neuron=*/true);
    sd::teacher_mlp<double> teacher(teacher_w);
    const sd::student_mlp<double> student(config, student_w);
    const auto a = an::analyse_student(student, teacher, sd::testing::gaussian_eval(teacher, 1000));
    const auto j = an::to_json(a);
    CHECK(j.at("types").at("simulators") == 5);
    CHECK(j.at("types").at("dead") == 1);
    CHECK(j.at("encoder_decoder_consistency").at("fraction").get<double>() == 1.0);
    CHECK(j.at("reconstruction").at("fvu").get<double>() < 1e-20);
    CHECK(j.at("teacher_neurons_by_simulator_count").at("1") == 5);
    const std::string csv = an::feature_table_csv(a);
    std::istringstream lines(csv);
    std::string line;
    int rows = 0;
    while (std::getline(lines, line)) {
        CHECK(std::count(line.begin(), line.end(), ',') == 11);
        if (rows == 1) CHECK(line.rfind("0,dead,", 0) == 0);
        if (rows == 2) CHECK(line.rfind("1,simulator,1,1,1,1,", 0) == 0);
        ++rows;
    }
    CHECK(rows == 1 + config.d_sae);
    // Without simulators, consistency and correlation are undefined: null, not 0.
    an::student_analysis empty;
    CHECK(an::to_json(empty).at("simulator_correlation_mean").is_null());
}

TEST_CASE("an SAE analysis skips the encoder comparison") {
    const auto [teacher_w, student_w, config] = sd::testing::copied_teacher(false);
    sd::teacher_mlp<double> teacher(teacher_w);
    const sd::student_mlp<double> student(config, student_w);
    an::analysis_options o;
    o.compare_encoder = false;
    const auto a = an::analyse_student(student, teacher, an::as_sae_tokens(sd::testing::gaussian_eval(teacher, 500)), o);
    CHECK(a.encoder_matches.empty());
    CHECK(a.consistency.pairs.empty());
    CHECK(a.decoder_matches.size() == static_cast<std::size_t>(config.d_sae));
}

TEST_CASE("a SwiGLU teacher: decoders against W_out rows, encoders against both W_in and W_up rows") {
    auto tw = sd::random_mlp_weights<double>(8, 5, sd::activation::silu, 21, /*biases=*/false);
    tw.w_up.resize(5, 8);
    sd::random::fill_uniform(tw.w_up, sd::random::counter_rng(21, 9), -1, 1);
    // Student feature j: encoder = W_up row j (so its up-match is exact), decoder = W_out row j.
    sd::student_config c;
    c.d_in = c.d_out = 8;
    c.d_sae = 5;
    c.decoder_norm = sd::decoder_norm::none;
    sd::student_weights<double> sw;
    sw.w_enc = tw.w_up;
    sw.w_dec = tw.w_out;
    sw.b_enc = sd::vector<double>::Zero(5);
    sw.b_dec = sd::vector<double>::Zero(8);
    sd::teacher_mlp<double> teacher(tw);
    const sd::student_mlp<double> student(c, sw);
    const auto a = an::analyse_student(student, teacher, sd::testing::gaussian_eval(teacher, 500));
    REQUIRE(a.encoder_up_matches.size() == 5);
    for (std::size_t j = 0; j < 5; ++j) {
        CHECK(a.decoder_matches[j].index == static_cast<sd::index_t>(j));
        CHECK(a.encoder_up_matches[j].index == static_cast<sd::index_t>(j));
        CHECK(a.encoder_up_matches[j].cosine == doctest::Approx(1.0));
        CHECK(a.encoder_matches[j].cosine < 0.999);  // W_in rows are other directions
    }
    CHECK(an::to_json(a).contains("mean_encoder_up_max_cosine"));
    CHECK(an::encoder_up_similarity(sw, sd::random_mlp_weights<double>(8, 5, sd::activation::gelu, 1)).empty());
}
