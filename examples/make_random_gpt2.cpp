// make_random_gpt2 DIR N_EMBD N_LAYER N_HEAD TOKENS
//
// Writes a Hugging Face GPT-2 folder with GPT-2's vocabulary (50,257), 1024 positions, the given
// width, depth and heads, and random weights (config.json, model.safetensors, tied embeddings), plus
// DIR/token_ids.npy: TOKENS random ids. For running and measuring `distill lm` at a real model's
// shape where no pretrained weights are at hand (tests/distill/check_lm_hf.cmake,
// benchmarks/harvest_memory.sh): the activations have GPT-2's shape, not its statistics.
#include <sparse_distill.hpp>

#include <cstdio>
#include <exception>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace sd = sparse_distill;

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: make_random_gpt2 DIR N_EMBD N_LAYER N_HEAD TOKENS\n");
        return 2;
    }
    try {
        const std::filesystem::path dir = argv[1];
        const std::int64_t width = std::stoll(argv[2]), layers = std::stoll(argv[3]), heads = std::stoll(argv[4]),
                           tokens = std::stoll(argv[5]);
        constexpr std::int64_t vocab = 50257, positions = 1024;
        std::filesystem::create_directories(dir);
        std::map<std::string, sd::io::tensor_data> tensors;
        std::uint64_t stream = 1;
        const auto random_tensor = [&](std::vector<std::int64_t> shape, double scale) {
            std::int64_t n = 1;
            for (auto e : shape) n *= e;
            sd::matrix<float> m(1, n);
            sd::random::fill_normal(m, sd::random::counter_rng(5, stream++), 0, scale);
            return sd::io::from_values<float>(std::move(shape), sd::io::dtype::f32, std::span<const float>(m.data(), static_cast<std::size_t>(n)));
        };
        const auto ones = [](std::int64_t n) {
            const std::vector<float> v(static_cast<std::size_t>(n), 1.0f);
            return sd::io::from_values<float>({n}, sd::io::dtype::f32, v);
        };
        tensors["transformer.wte.weight"] = random_tensor({vocab, width}, 0.02);
        tensors["transformer.wpe.weight"] = random_tensor({positions, width}, 0.01);
        for (std::int64_t l = 0; l < layers; ++l) {
            const std::string at = "transformer.h." + std::to_string(l) + ".";
            tensors[at + "ln_1.weight"] = ones(width);
            tensors[at + "ln_1.bias"] = random_tensor({width}, 0.02);
            tensors[at + "ln_2.weight"] = ones(width);
            tensors[at + "ln_2.bias"] = random_tensor({width}, 0.02);
            tensors[at + "attn.c_attn.weight"] = random_tensor({width, 3 * width}, 0.02);
            tensors[at + "attn.c_attn.bias"] = random_tensor({3 * width}, 0.02);
            tensors[at + "attn.c_proj.weight"] = random_tensor({width, width}, 0.02);
            tensors[at + "attn.c_proj.bias"] = random_tensor({width}, 0.02);
            tensors[at + "mlp.c_fc.weight"] = random_tensor({width, 4 * width}, 0.05);
            tensors[at + "mlp.c_fc.bias"] = random_tensor({4 * width}, 0.02);
            tensors[at + "mlp.c_proj.weight"] = random_tensor({4 * width, width}, 0.02);
            tensors[at + "mlp.c_proj.bias"] = random_tensor({width}, 0.02);
        }
        tensors["transformer.ln_f.weight"] = ones(width);
        tensors["transformer.ln_f.bias"] = random_tensor({width}, 0.02);
        sd::io::write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
        sd::io::write_text_file(dir / "config.json",
                                "{\"model_type\": \"gpt2\", \"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": 50257, \"n_embd\": " +
                                    std::to_string(width) + ", \"n_layer\": " + std::to_string(layers) + ", \"n_head\": " +
                                    std::to_string(heads) + ", \"n_positions\": 1024, \"activation_function\": \"gelu_new\"}");
        const sd::random::counter_rng rng(9, 1);
        std::vector<std::int64_t> ids(static_cast<std::size_t>(tokens));
        for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(rng.bits(i) % vocab);
        sd::io::write_npy(dir / "token_ids.npy", sd::io::from_values<std::int64_t>({tokens}, sd::io::dtype::i64, ids));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_random_gpt2: %s\n", e.what());
        return 1;
    }
    return 0;
}
