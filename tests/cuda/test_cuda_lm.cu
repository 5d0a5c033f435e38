// The language-model pipeline with its students on the GPU (needs ../shared/data: stories260K and
// TinyStories text): the same run on backend::cpu and backend::cuda gives the same loss table.
#include "cuda_test_support.hpp"
#include "support/shared_data.hpp"

#include <sparse_distill/experiments/lm_distillation.hpp>
#include <sparse_distill/lm.hpp>

#include <cmath>

using namespace sd_cuda_test;

namespace {
template <class Backend>
sd::experiments::lm_distillation_result run_layers(const sd::lm::transformer& model, const sd::lm::tokenizer& tok,
                                                   const std::string& text) {
    sd::experiments::lm_distillation_settings s;
    s.layers = {0, 3};
    s.train.batch_size = 256;
    s.train.tokens = 40'000;
    s.train.loss.l1_coeff = 0.03;
    s.train.schedule.lr = 3e-3;
    s.example_features = 2;
    s.examples_per_feature = 2;
    return sd::experiments::run_lm_distillation<Backend>(
        model, tok, text, s, [](int, std::int64_t) { return sd::no_callbacks{}; }, [](const std::string&) {});
}
}  // namespace

TEST_CASE("shared data: distill lm on the GPU gives the CPU's loss table to 1e-3") {
    SD_REQUIRE_SHARED_DATA("stories260K/stories260K.bin");
    SD_REQUIRE_SHARED_DATA("stories260K/tok512.bin");
    SD_REQUIRE_SHARED_DATA("tinystories/tinystories_train_head.txt");
    const std::filesystem::path dir = sd_test::shared_data_dir();
    const sd::lm::transformer model(sd::lm::read_llama2c_checkpoint(dir / "stories260K/stories260K.bin"));
    const sd::lm::tokenizer tok = sd::lm::tokenizer::read(dir / "stories260K/tok512.bin");
    const std::string text = sd::io::read_text_file(dir / "tinystories/tinystories_train_head.txt");

    const auto cpu = run_layers<sd::backend::cpu>(model, tok, text);
    const auto gpu = run_layers<sd::backend::cuda>(model, tok, text);
    REQUIRE(cpu.layers.size() == gpu.layers.size());
    CHECK(gpu.clean_loss == cpu.clean_loss);  // the transformer runs on the host either way
    for (std::size_t i = 0; i < cpu.layers.size(); ++i) {
        const auto& c = cpu.layers[i].losses;
        const auto& g = gpu.layers[i].losses;
        CAPTURE(cpu.layers[i].layer);
        MESSAGE("layer " << cpu.layers[i].layer << ": student loss cpu " << c.student << ", gpu " << g.student
                         << "; zero " << c.zero_ablated << ", mean " << c.mean_ablated);
        CHECK(g.zero_ablated == c.zero_ablated);
        CHECK(g.mean_ablated == c.mean_ablated);
        CHECK(std::abs(g.student - c.student) < 1e-3);
        CHECK(std::abs(gpu.layers[i].summary.last.terms.loss - cpu.layers[i].summary.last.terms.loss) <
              1e-3 * std::max(1.0, cpu.layers[i].summary.last.terms.loss));
        CHECK(gpu.layers[i].summary.steps == cpu.layers[i].summary.steps);
    }
}
