// Harvesting on a tiny random model (no shared data): rows land at window·T + position, whatever the
// batching, and the .npy files read back.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include "lm/lm_test_files.hpp"
#include "support/temp_files.hpp"

namespace sd = sparse_distill;
namespace lm = sparse_distill::lm;

TEST_CASE("harvest: each window's rows equal a forward pass of that window alone, partial last batch included") {
    const auto config = sd_test::tiny_config();
    const lm::transformer model(sd_test::random_weights(config));
    std::vector<std::vector<int>> windows;
    for (int w = 0; w < 5; ++w) {
        std::vector<int> t;
        for (int i = 0; i < 6; ++i) t.push_back((w * 7 + i * 3) % config.vocab_size);
        windows.push_back(t);
    }
    const auto h = lm::harvest_mlp_activations(model, windows, {config.n_layers - 1, 0}, /*batch_windows=*/2);
    REQUIRE(h.rows() == 30);
    for (int w : {0, 3, 4}) {
        sd::matrix<float> in, out;
        lm::forward_hooks hooks;
        hooks.read = [&](int layer, const sd::matrix<float>& i, const sd::matrix<float>& o) {
            if (layer == 0) in = i, out = o;
        };
        (void)model.logits({windows[static_cast<std::size_t>(w)]}, hooks);
        // Batched and single products round differently: a misplaced row differs by O(1), not 1e-5.
        const float tolerance = 1e-5f * std::max(1.0f, out.cwiseAbs().maxCoeff());
        CHECK((h.layer(0).mlp_in.middleRows(w * 6, 6) - in).cwiseAbs().maxCoeff() < tolerance);
        CHECK((h.layer(0).mlp_out.middleRows(w * 6, 6) - out).cwiseAbs().maxCoeff() < tolerance);
        CHECK(h.token_ids[static_cast<std::size_t>(w * 6 + 2)] == windows[static_cast<std::size_t>(w)][2]);
        CHECK(h.positions[static_cast<std::size_t>(w * 6 + 2)] == 2);
    }
    auto ragged = windows;
    ragged[3].pop_back();
    CHECK_THROWS_WITH(lm::harvest_mlp_activations(model, ragged, {0}), doctest::Contains("window 3 has 5 tokens"));

    const sd_test::temp_dir dir("sd_harvest");
    lm::write_harvest_npy(dir.path, h);
    const auto tokens = sd::io::to_values<std::int32_t>(sd::io::read_npy(dir / "tokens.npy"));
    CHECK(std::vector<int>(tokens.begin(), tokens.end()) == h.token_ids);
    const auto in0 = sd::io::to_matrix<float>(sd::io::read_npy(dir / "layer0_mlp_in.npy"), "layer0_mlp_in");
    CHECK(in0 == h.layer(0).mlp_in);
}

TEST_CASE("harvest to shards: the shards hold exactly the in-memory harvest, in order, with its mean output") {
    const auto config = sd_test::tiny_config();
    const lm::transformer model(sd_test::random_weights(config));
    std::vector<std::vector<int>> windows;
    for (int w = 0; w < 5; ++w) {
        std::vector<int> t;
        for (int i = 0; i < 6; ++i) t.push_back((w * 5 + i * 11) % config.vocab_size);
        windows.push_back(t);
    }
    const std::vector<int> layers{config.n_layers - 1, 0};
    const auto memory = lm::harvest_mlp_activations(model, windows, layers, /*batch_windows=*/2);
    const sd_test::temp_dir dir("sd_harvest_shards");
    // 7 rows per shard: shards end inside batches (12 rows) and the last shard is short (30 = 4·7 + 2).
    const auto shards = lm::harvest_mlp_shards(model, windows, layers, dir.path, /*rows_per_shard=*/7, /*batch_windows=*/2);
    REQUIRE(shards.rows == 30);
    CHECK(shards.layers == std::vector<int>{0, config.n_layers - 1});
    for (int layer : shards.layers) {
        const auto& files = shards.layer(layer);
        REQUIRE(files.inputs.size() == 5);
        REQUIRE(files.targets.size() == 5);
        CHECK(files.inputs[1].filename() == "layer" + std::to_string(layer) + "_mlp_in.00001.npy");
        sd::matrix<float> in(30, config.dim), out(30, config.dim);
        sd::index_t row = 0;
        for (std::size_t s = 0; s < files.inputs.size(); ++s) {
            const auto a = sd::io::to_matrix<float>(sd::io::read_npy(files.inputs[s]), "in");
            const auto b = sd::io::to_matrix<float>(sd::io::read_npy(files.targets[s]), "out");
            CHECK(a.rows() == (s + 1 < files.inputs.size() ? 7 : 2));
            in.middleRows(row, a.rows()) = a;
            out.middleRows(row, b.rows()) = b;
            row += a.rows();
        }
        CHECK(in == memory.layer(layer).mlp_in);  // the same batches: the same bits
        CHECK(out == memory.layer(layer).mlp_out);
        const sd::vector<double> mean = memory.layer(layer).mlp_out.cast<double>().colwise().mean().transpose();
        CHECK((shards.mean_output[shards.index_of(layer)] - mean).cwiseAbs().maxCoeff() < 1e-12);
        // A source over the shards hands the rows out in order without shuffling.
        sd::data::sharded_npy_source<float, true> source(files, {});
        sd::matrix<float> x(30, config.dim), y(30, config.dim);
        REQUIRE(source.next_batch(x, y));
        CHECK(x == in);
        CHECK(y == out);
    }
    const auto tokens = sd::io::to_values<std::int32_t>(sd::io::read_npy(dir / "tokens.npy"));
    CHECK(std::vector<int>(tokens.begin(), tokens.end()) == memory.token_ids);
    const std::string outside = "outside [0, " + std::to_string(config.n_layers) + ")";
    CHECK_THROWS_WITH(lm::harvest_mlp_shards(model, windows, {config.n_layers}, dir.path, 7), doctest::Contains(outside.c_str()));
}
