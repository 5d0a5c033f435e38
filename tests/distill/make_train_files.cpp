// make_train_files DIR
//
// Writes the small files that the `distill train` fault checks (check_train_faults.cmake) train on,
// so that they need no shared data: a random GELU teacher with transformer_lens's bare names
// (teacher.safetensors: W_in [8, 24], b_in, W_out [24, 8], b_out), two input shards
// (acts/shard_0.npy and acts/shard_1.npy, f32 [64, 8]), and a SAELens student folder for those sizes
// whose W_enc holds a NaN (nan_student/). For the `distill lm` checks on Hugging Face folders
// (check_lm_hf.cmake): token ids below 64, the tiny reference models' vocabulary (token_ids.npy
// i64 [20000], eval_ids.npy i32 [2048], bad_ids.npy with id 64 at index 5).
#include <sparse_distill.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace sd = sparse_distill;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_train_files DIR\n");
        return 2;
    }
    try {
        const std::filesystem::path dir = argv[1];
        std::filesystem::create_directories(dir / "acts");
        constexpr sd::index_t d_model = 8, d_mlp = 24;
        const sd::mlp_weights<float> teacher = sd::random_mlp_weights<float>(d_model, d_mlp, sd::activation::gelu, 3);
        const sd::matrix<float> w_in = teacher.w_in.transpose(), w_out = teacher.w_out;
        sd::io::write_safetensors(dir / "teacher.safetensors",
                                  {{"W_in", sd::io::from_matrix(w_in)},
                                   {"b_in", sd::io::from_vector(teacher.b_in)},
                                   {"W_out", sd::io::from_matrix(w_out)},
                                   {"b_out", sd::io::from_vector(teacher.b_out)}},
                                  {});
        for (int shard = 0; shard < 2; ++shard) {
            sd::matrix<float> rows(64, d_model);
            sd::data::gaussian_source<float> source(d_model, 10 + shard);
            source.next_batch(rows);
            sd::io::write_npy(dir / "acts" / ("shard_" + std::to_string(shard) + ".npy"), sd::io::from_matrix(rows));
        }
        sd::student_config c;
        c.d_in = c.d_out = d_model;
        c.d_sae = 32;
        sd::student_weights<float> w = sd::student_mlp<float>(c, 5).weights();
        w.w_enc(3, 1) = std::numeric_limits<float>::quiet_NaN();
        sd::io::write_student(dir / "nan_student", sd::io::student_format::saelens, c, w);

        // Token ids from a fixed seed.
        const sd::random::counter_rng rng(7, 1);
        std::uint64_t drawn = 0;
        const auto ids = [&](std::size_t n) {
            std::vector<std::int64_t> v(n);
            for (auto& id : v) id = static_cast<std::int64_t>(rng.bits(drawn++) % 64);
            return v;
        };
        const std::vector<std::int64_t> train_ids = ids(20000), eval_ids = ids(2048);
        sd::io::write_npy(dir / "token_ids.npy", sd::io::from_values<std::int64_t>({20000}, sd::io::dtype::i64, train_ids));
        sd::io::write_npy(dir / "eval_ids.npy", sd::io::from_values<std::int64_t>({2048}, sd::io::dtype::i32, eval_ids));
        std::vector<std::int64_t> bad(train_ids.begin(), train_ids.begin() + 100);
        bad[5] = 64;
        sd::io::write_npy(dir / "bad_ids.npy", sd::io::from_values<std::int64_t>({100}, sd::io::dtype::i64, bad));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_train_files: %s\n", e.what());
        return 1;
    }
    return 0;
}
