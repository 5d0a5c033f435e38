// The post's experiment on a real model (needs ../shared/data: stories260K and TinyStories text).
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <sparse_distill/experiments/lm_distillation.hpp>
#include <sparse_distill/lm.hpp>

#include "support/shared_data.hpp"

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace experiments_lm_distillation_test {
/// stories260K, its tokenizer and the TinyStories text from the shared data.
struct stories {
    std::filesystem::path dir = sd_test::shared_data_dir();
    sd::lm::transformer model{sd::lm::read_llama2c_checkpoint(dir / "stories260K/stories260K.bin")};
    sd::lm::tokenizer tok = sd::lm::tokenizer::read(dir / "stories260K/tok512.bin");
    std::string text = sd::io::read_text_file(dir / "tinystories/tinystories_train_head.txt");
};

#define SD_REQUIRE_STORIES()                                            \
    SD_REQUIRE_SHARED_DATA("stories260K/stories260K.bin");              \
    SD_REQUIRE_SHARED_DATA("stories260K/tok512.bin");                   \
    SD_REQUIRE_SHARED_DATA("tinystories/tinystories_train_head.txt")

TEST_CASE("shared data: a stories260K layer as a SwiGLU teacher reproduces the harvested MLP outputs") {
    SD_REQUIRE_STORIES();
    const stories data;
    const auto& model = data.model;
    const auto windows = sd::lm::make_text_windows(data.tok, data.text, 64, 0.5);
    const std::vector<std::vector<int>> some(windows.train.begin(), windows.train.begin() + 8);
    const auto h = sd::lm::harvest_mlp_activations(model, some, {3, 1}, /*batch_windows=*/3);
    CHECK(h.layers == std::vector<int>{1, 3});
    CHECK(h.rows() == 8 * 64);
    CHECK(h.positions[64 + 5] == 5);
    CHECK(h.token_ids[64 + 5] == some[1][5]);
    for (int layer : {1, 3}) {
        sd::teacher_mlp<float> teacher(sd::lm::teacher_weights(model, layer));
        const auto& a = h.layer(layer);
        const float scale = a.mlp_out.cwiseAbs().maxCoeff();
        CHECK((teacher.forward(a.mlp_in) - a.mlp_out).cwiseAbs().maxCoeff() < 1e-5f * std::max(1.0f, scale));
    }
    CHECK_THROWS_WITH(h.layer(2), doctest::Contains("layer 2"));
}

TEST_CASE("shared data: distilling a stories260K layer recovers most of the loss that ablating it loses") {
    SD_REQUIRE_STORIES();
    const stories data;
    const auto& model = data.model;
    sd::experiments::lm_distillation_settings s;
    s.layers = {0};
    s.train.batch_size = 256;
    s.train.tokens = 60'000;
    s.train.loss.l1_coeff = 0.03;
    s.train.schedule.lr = 3e-3;
    s.example_features = 3;
    s.examples_per_feature = 2;
    const auto r = sd::experiments::run_lm_distillation(
        model, data.tok, data.text, s,
        [](int, std::int64_t) { return sd::no_callbacks{}; }, [](const std::string&) {});
    REQUIRE(r.layers.size() == 1);
    const auto& l = r.layers[0];
    MESSAGE("clean " << l.losses.clean << ", zero " << l.losses.zero_ablated << ", mean " << l.losses.mean_ablated
                     << ", student " << l.losses.student << ", recovered " << l.losses.recovered_vs_zero());
    CHECK(r.held_out_tokens > 0);
    CHECK(l.config.d_sae == 4 * model.config().hidden_dim);
    CHECK(l.losses.zero_ablated > l.losses.clean + 0.1);
    CHECK(l.losses.student < l.losses.zero_ablated);
    CHECK(l.losses.recovered_vs_zero() > 0.5);
    CHECK(l.losses.recovered_vs_zero() < 1.05);
    CHECK(l.analysis.activity.l0 > 0);
    REQUIRE(l.examples.size() == l.example_features.size());
    for (const auto& list : l.examples)
        for (const auto& e : list) {
            CHECK(e.tokens.size() == e.activations.size());
            CHECK(e.activations[static_cast<std::size_t>(e.focus)] == doctest::Approx(e.activation).epsilon(1e-4));
        }
}

TEST_CASE("shared data: the SAE baseline on a stories260K layer reads the MLP output and is spliced in after the MLP") {
    SD_REQUIRE_STORIES();
    const stories data;
    sd::experiments::lm_distillation_settings s;
    s.layers = {1};
    s.sae = true;
    s.train.batch_size = 256;
    s.train.tokens = 40'000;
    s.train.loss.l1_coeff = 0.01;
    s.train.schedule.lr = 3e-3;
    const auto r = sd::experiments::run_lm_distillation(
        data.model, data.tok, data.text, s, [](int, std::int64_t) { return sd::no_callbacks{}; }, [](const std::string&) {});
    REQUIRE(r.layers.size() == 1);
    const auto& l = r.layers[0];
    MESSAGE("SAE: FVU " << l.analysis.ablation.full.fvu << ", recovered " << l.losses.recovered_vs_zero() << ", L0 " << l.analysis.activity.l0);
    // Its encoder lives in the output space: not compared with the teacher's input vectors, and no contexts drawn.
    CHECK(l.analysis.encoder_matches.empty());
    CHECK(l.examples.empty());
    // Reconstructing the output well means splicing it in recovers most of the loss. A student fed the
    // MLP's input in its place (the wrong space) would not come near.
    CHECK(l.analysis.ablation.full.fvu < 0.5);
    CHECK(l.losses.recovered_vs_zero() > 0.6);
    CHECK(l.losses.recovered_vs_zero() < 1.05);
}

}  // namespace experiments_lm_distillation_test
