// What checkpoints need from the data sources: a position that seek() restores exactly (across the
// passes of a shuffled source), bounds on it, the JSON form stored in a checkpoint, and describe_row.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include <string>
#include <vector>

namespace sd = sparse_distill;

TEST_CASE("paired_source: seek to any position continues exactly as the uninterrupted sequence, across passes") {
    constexpr sd::index_t n = 5;
    sd::matrix<float> x(n, 1), y(n, 1);
    for (sd::index_t i = 0; i < n; ++i) x(i, 0) = y(i, 0) = float(i);
    sd::data::paired_source<float> reference(x, y, 11);
    std::vector<float> sequence;
    sd::matrix<float> bx(1, 1), by(1, 1);
    for (int i = 0; i < 5 * n; ++i) {
        CHECK(reference.position() == static_cast<std::uint64_t>(i));
        reference.next_batch(bx, by);
        sequence.push_back(bx(0, 0));
    }
    // Each pass is a permutation, and the passes differ (the order is redrawn).
    for (int pass = 0; pass < 4; ++pass) {
        std::vector<float> one(sequence.begin() + pass * n, sequence.begin() + (pass + 1) * n);
        std::sort(one.begin(), one.end());
        CHECK(one == std::vector<float>{0, 1, 2, 3, 4});
    }
    CHECK(std::vector<float>(sequence.begin(), sequence.begin() + n) !=
          std::vector<float>(sequence.begin() + n, sequence.begin() + 2 * n));

    for (std::uint64_t p = 0; p < static_cast<std::uint64_t>(3 * n); ++p) {
        CAPTURE(p);
        sd::data::paired_source<float> resumed(x, y, 11);
        resumed.seek(p);
        CHECK(resumed.position() == p);
        sd::matrix<float> rx(n + 2, 1), ry(n + 2, 1);  // a batch that crosses a pass boundary
        resumed.next_batch(rx, ry);
        for (sd::index_t r = 0; r < n + 2; ++r) {
            CHECK(rx(r, 0) == sequence[p + static_cast<std::uint64_t>(r)]);
            CHECK(ry(r, 0) == rx(r, 0));
            CHECK(resumed.describe_row(r) == "row " + std::to_string(int(rx(r, 0))));
        }
        CHECK(resumed.position() == p + n + 2);
    }
}

TEST_CASE("matrix_source: position, bounded seek, and rows described through a wrap") {
    sd::matrix<float> rows(10, 2);
    for (sd::index_t i = 0; i < 10; ++i) rows.row(i).setConstant(float(i));
    sd::data::matrix_source<float> cycling(rows, true);
    sd::matrix<float> b(4, 2);
    cycling.next_batch(b);
    cycling.next_batch(b);
    CHECK(cycling.next_batch(b));  // rows 8, 9, 0, 1
    CHECK(b(2, 0) == 0.0f);
    CHECK(cycling.describe_row(0) == "row 8");
    CHECK(cycling.describe_row(2) == "row 0");
    CHECK(cycling.position() == 2);
    cycling.seek(9);
    cycling.next_batch(b);
    CHECK(b(0, 0) == 9.0f);
    CHECK(b(1, 0) == 0.0f);
    CHECK_THROWS_WITH_AS(cycling.seek(10), "matrix_source: cannot seek to row 10 of 10", std::out_of_range);
    CHECK_THROWS_WITH_AS(cycling.seek(-1), "matrix_source: cannot seek to row -1 of 10", std::out_of_range);

    sd::data::matrix_source<float> finite(rows);
    finite.seek(10);  // at the end: the next batch reports the source ran out
    CHECK_FALSE(finite.next_batch(b));
    CHECK_THROWS_AS(finite.seek(11), std::out_of_range);
}

TEST_CASE("gaussian and planted sources: seek reproduces the tokens, describe_row names them") {
    sd::data::gaussian_source<double> long_run(6, 3);
    sd::matrix<double> all(20, 6);
    long_run.next_batch(all);
    sd::data::gaussian_source<double> resumed(6, 3);
    resumed.seek(13);
    sd::matrix<double> part(5, 6);
    resumed.next_batch(part);
    CHECK(part == all.middleRows(13, 5));
    CHECK(resumed.describe_row(2) == "token 15");
    CHECK(resumed.position() == 18);

    sd::data::planted_feature_settings p;
    p.dim = 6;
    p.features = 20;
    p.probability = 0.2;
    sd::data::planted_feature_source<float> planted(p, 4);
    sd::matrix<float> pall(20, 6);
    planted.next_batch(pall);
    sd::data::planted_feature_source<float> planted_resumed(p, 4);
    planted_resumed.seek(7);
    sd::matrix<float> ppart(4, 6);
    planted_resumed.next_batch(ppart);
    CHECK(ppart == pall.middleRows(7, 4));
    CHECK(planted_resumed.describe_row(3) == "token 10");
}

TEST_CASE("the source position in a checkpoint: one number or the source's own JSON, bad forms named") {
    sd::data::gaussian_source<float> g(4, 1);
    g.seek(96);
    CHECK(sd::save_source_position(g) == nlohmann::json{{"position", 96}});
    sd::data::gaussian_source<float> g2(4, 1);
    sd::restore_source_position(g2, {{"position", 96}}, "run/checkpoint.safetensors");
    CHECK(g2.position() == 96);
    CHECK_THROWS_WITH_AS(sd::restore_source_position(g2, {{"rows", 96}}, "run/checkpoint.safetensors"),
                         "run/checkpoint.safetensors: source_position: expected {\"position\": <non-negative integer>}, "
                         "found {\"rows\":96}",
                         sd::io::io_error);
    sd::data::matrix_source<float> m(sd::matrix<float>::Zero(10, 4));
    CHECK_THROWS_WITH_AS(sd::restore_source_position(m, {{"position", 11}}, "c.safetensors"),
                         "c.safetensors: source_position: the source refused {\"position\":11}: matrix_source: cannot "
                         "seek to row 11 of 10",
                         sd::io::io_error);

    // A source with a richer position (a shard index and a row, say) stores its own JSON.
    struct sharded_like {
        int shard = 0, row = 0;
        bool next_batch(sd::matrix<float>&) { return true; }
        nlohmann::json save_position() const { return {{"shard", shard}, {"row", row}}; }
        void restore_position(const nlohmann::json& j) {
            shard = j.at("shard").get<int>();
            row = j.at("row").get<int>();
        }
    } s{2, 17}, restored;
    static_assert(sd::resumable_source<sharded_like>);
    static_assert(!sd::source_with_position<sharded_like>);
    const nlohmann::json saved = sd::save_source_position(s);
    CHECK(saved == nlohmann::json{{"state", {{"shard", 2}, {"row", 17}}}});
    sd::restore_source_position(restored, saved, "c.safetensors");
    CHECK(restored.shard == 2);
    CHECK(restored.row == 17);
    CHECK_THROWS_WITH_AS(sd::restore_source_position(restored, {{"state", {{"shard", 1}}}}, "c.safetensors"),
                         doctest::Contains("c.safetensors: source_position: the source refused {\"state\":{\"shard\":1}}: "),
                         sd::io::io_error);
}
