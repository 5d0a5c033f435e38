// One training step (teacher forward, student forward, loss, backward, AdamW, decoder cap), in tokens
// per second, for the configurations of the peers in ../shared/peers. As the peer does, inputs come
// from a pool of 8 Gaussian batches made before timing, so both sides time the step and not the data.
//   train_step/<config>              teacher on the fly, untrained (dense) student
//   train_step_cached/<config>       teacher outputs precomputed for the pool (the peer's --precompute-teacher)
//   train_step_l0_64/<config>        b_enc shifted so that ~64 features fire per token; the sparse path is
//                                    taken when the density is below student_config::sparse_below_density
//   train_step_l0_64_dense/<config>  the same student with the sparse path disabled
//   train_step_cached_l0_64/<config> cached teacher at L0 ≈ 64
//   train_step_width/{dense,l0_64}/<d_sae>  config (c) with d_sae from 1024 to 16384: how cost grows with width
//   train_step_topk_{32,64}/<config> a TopK student (k = 32, 64): L0 is k from the first step, and the
//                                    sparse path runs when k/d_sae is below sparse_below_density
//   train_step_bf16{,_cached,_l0_64}/<config>  the same steps on backend::cpu_bf16 (bf16 operands, fp32
//                                    accumulation, oneDNN); built where oneDNN is found, run where the CPU has
//                                    AVX512-BF16 (elsewhere each reports an error and is skipped)
//   train_step_onednn{,_cached,_l0_64}/<config>  on backend::cpu_onednn (oneDNN's fp32 products)
// Every figure comes with the measured L0 and the process's peak resident memory.
//   ./benchmarks/bench_train_step --benchmark_filter=config_c
#include <benchmark/benchmark.h>
#include <sparse_distill.hpp>

#include <sys/resource.h>

#ifdef SD_BENCH_HAVE_ONEDNN
#include <sparse_distill/backend/cpu_bf16.hpp>
#include <sparse_distill/backend/cpu_onednn.hpp>
#endif

#include "shift_to_l0.hpp"

namespace sd = sparse_distill;

namespace {

enum class teacher_mode { on_the_fly, cached };
enum class sparsity { untrained, l0_64_sparse_path, l0_64_dense_path, topk };

constexpr sd::index_t pool_batches = 8;

double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

/// state.range: {d, d_mlp, d_sae, batch}; TopK students take K.
template <class Scalar, teacher_mode Teacher, sparsity Sparsity, sd::index_t K = 0, class Backend = sd::backend::cpu>
void train_step(benchmark::State& state) {
    const sd::index_t d = state.range(0), m = state.range(1), h = state.range(2), batch = state.range(3);
#ifdef SD_BENCH_HAVE_ONEDNN
    if constexpr (std::is_same_v<Backend, sd::backend::cpu_bf16>) {
        if (!sd::backend::cpu_bf16_available()) {
            state.SkipWithError("backend::cpu_bf16 needs AVX512-BF16, which this CPU lacks");
            return;
        }
    }
#endif
    sd::teacher_mlp<Scalar, Backend> teacher(sd::random_mlp_weights<Scalar>(d, m, sd::activation::gelu, 1));
    sd::student_config config;
    config.d_in = config.d_out = d;
    config.d_sae = h;
    if (Sparsity == sparsity::l0_64_dense_path) config.sparse_below_density = 0;
    if (Sparsity == sparsity::topk) {
        config.sparsity = sd::sparsity_mode::topk;
        config.k = K;
    }
    sd::student_mlp<Scalar, Backend> student(config, 2);

    sd::matrix<Scalar> pool(pool_batches * batch, d);
    sd::data::gaussian_source<Scalar>(d, 3).next_batch(pool);
    if (Sparsity == sparsity::l0_64_sparse_path || Sparsity == sparsity::l0_64_dense_path)
        sd_bench::shift_to_l0(student, sd::matrix<Scalar>(pool.topRows(batch)), 64.0);

    sd::train_settings settings;  // the peer's settings: λ 1e-3, AdamW lr 1e-3, weight decay 1e-2, cosine
    settings.batch_size = batch;
    settings.tokens = std::int64_t{1} << 40;
    settings.loss.l1_coeff = Sparsity == sparsity::topk ? 0.0 : 1e-3;  // a TopK student has no L1 term
    settings.adam.weight_decay = 1e-2;
    settings.schedule = {1e-3, 0, 1000000, 0.0};
    // At a chosen L0 the steps must be tiny, or training would move the sparsity while it is timed.
    if (Sparsity == sparsity::l0_64_sparse_path || Sparsity == sparsity::l0_64_dense_path) settings.schedule.lr = 1e-6;
    sd::trainer<Scalar, Backend> trainer(student, teacher, settings);
    sd::step_metrics metrics;
    const auto run = [&](auto& source) {
        trainer.step(source, metrics);  // allocates the optimizer state and workspaces outside the timed loop
        for (auto _ : state) {
            trainer.step(source, metrics);
            benchmark::DoNotOptimize(metrics.terms.loss);
        }
    };
    if constexpr (Teacher == teacher_mode::cached) {
        sd::data::paired_source<Scalar> cached(pool, teacher.forward(pool), 4, /*shuffle=*/false);
        run(cached);
    } else {
        sd::data::matrix_source<Scalar> inputs(pool, /*cycle=*/true);
        run(inputs);
    }
    state.counters["tokens/s"] = benchmark::Counter(double(batch) * double(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["L0"] = metrics.terms.l0;
    state.counters["threads"] = sd::num_threads();
    state.counters["peak_rss_MiB"] = peak_rss_mib();
}

}  // namespace

// {d, d_mlp, d_sae, batch}; config (c) runs a fixed 3 iterations (a step takes a quarter second or more).
#define SD_TRAIN_STEP_CONFIG(function, prefix, config, ...) \
    BENCHMARK(function)->Name(prefix "/" config)->Args(__VA_ARGS__)->Unit(benchmark::kMillisecond)->UseRealTime()
#define SD_TRAIN_STEP_BENCHMARKS(function, prefix)                                  \
    SD_TRAIN_STEP_CONFIG(function, prefix, "toy", {1000, 1, 1, 1024});              \
    SD_TRAIN_STEP_CONFIG(function, prefix, "config_a", {64, 256, 1024, 1024});      \
    SD_TRAIN_STEP_CONFIG(function, prefix, "config_b", {256, 1024, 4096, 1024});    \
    SD_TRAIN_STEP_CONFIG(function, prefix, "config_c", {1024, 4096, 16384, 512})->Iterations(3)
#define SD_TRAIN_STEP_L0_BENCHMARKS(function, prefix)                            \
    SD_TRAIN_STEP_CONFIG(function, prefix, "config_a", {64, 256, 1024, 1024});   \
    SD_TRAIN_STEP_CONFIG(function, prefix, "config_b", {256, 1024, 4096, 1024}); \
    SD_TRAIN_STEP_CONFIG(function, prefix, "config_c", {1024, 4096, 16384, 512})->Iterations(3)

SD_TRAIN_STEP_BENCHMARKS((train_step<float, teacher_mode::on_the_fly, sparsity::untrained>), "train_step");
SD_TRAIN_STEP_BENCHMARKS((train_step<float, teacher_mode::cached, sparsity::untrained>), "train_step_cached");
SD_TRAIN_STEP_L0_BENCHMARKS((train_step<float, teacher_mode::on_the_fly, sparsity::l0_64_sparse_path>), "train_step_l0_64");
SD_TRAIN_STEP_L0_BENCHMARKS((train_step<float, teacher_mode::on_the_fly, sparsity::l0_64_dense_path>), "train_step_l0_64_dense");
SD_TRAIN_STEP_L0_BENCHMARKS((train_step<float, teacher_mode::cached, sparsity::l0_64_sparse_path>), "train_step_cached_l0_64");

// TopK students at configs b and c; the peer is benchmarks/peers/torch_topk_step.py (compare_torch.sh b:topk_32).
#define SD_TRAIN_STEP_TOPK_BENCHMARKS(k)                                                                                   \
    SD_TRAIN_STEP_CONFIG((train_step<float, teacher_mode::on_the_fly, sparsity::topk, k>), "train_step_topk_" #k, "config_b", \
                         {256, 1024, 4096, 1024});                                                                         \
    SD_TRAIN_STEP_CONFIG((train_step<float, teacher_mode::on_the_fly, sparsity::topk, k>), "train_step_topk_" #k, "config_c", \
                         {1024, 4096, 16384, 512})                                                                         \
        ->Iterations(3)
SD_TRAIN_STEP_TOPK_BENCHMARKS(32);
SD_TRAIN_STEP_TOPK_BENCHMARKS(64);

// Config (c)'s d, d_mlp and batch with d_sae = 1k … 16k: an untrained (dense) student, and one at L0 ≈ 64.
BENCHMARK((train_step<float, teacher_mode::on_the_fly, sparsity::untrained>))
    ->Name("train_step_width/dense")->ArgsProduct({{1024}, {4096}, {1024, 2048, 4096, 8192, 16384}, {512}})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK((train_step<float, teacher_mode::on_the_fly, sparsity::l0_64_sparse_path>))
    ->Name("train_step_width/l0_64")->ArgsProduct({{1024}, {4096}, {1024, 2048, 4096, 8192, 16384}, {512}})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

#ifdef SD_BENCH_HAVE_ONEDNN
// backend::cpu_bf16 at configs b and c: dense, teacher cached, and at L0 ≈ 64 (the peer:
// benchmarks/peers/torch_cpu_bf16_step.py, compare_torch.sh c:bf16).
#define SD_TRAIN_STEP_ONEDNN(backend, teacher, sparsity, prefix)                                                           \
    SD_TRAIN_STEP_CONFIG((train_step<float, teacher, sparsity, 0, backend>), prefix, "config_b", {256, 1024, 4096, 1024});    \
    SD_TRAIN_STEP_CONFIG((train_step<float, teacher, sparsity, 0, backend>), prefix, "config_c", {1024, 4096, 16384, 512})    \
        ->Iterations(3)
#define SD_TRAIN_STEP_BF16(teacher, sparsity, prefix) SD_TRAIN_STEP_ONEDNN(sd::backend::cpu_bf16, teacher, sparsity, prefix)
SD_TRAIN_STEP_ONEDNN(sd::backend::cpu_onednn, teacher_mode::on_the_fly, sparsity::untrained, "train_step_onednn");
SD_TRAIN_STEP_ONEDNN(sd::backend::cpu_onednn, teacher_mode::cached, sparsity::untrained, "train_step_onednn_cached");
SD_TRAIN_STEP_ONEDNN(sd::backend::cpu_onednn, teacher_mode::on_the_fly, sparsity::l0_64_sparse_path, "train_step_onednn_l0_64");
SD_TRAIN_STEP_ONEDNN(sd::backend::cpu_onednn, teacher_mode::cached, sparsity::l0_64_sparse_path, "train_step_onednn_cached_l0_64");
SD_TRAIN_STEP_BF16(teacher_mode::on_the_fly, sparsity::untrained, "train_step_bf16");

// The machine's 2048³ product rate through a oneDNN policy, for compare_torch.sh's gate on the peer:
// fp32 (cpu_onednn) and bf16 (cpu_bf16, rounding both operands included).
template <class Backend>
void onednn_product(benchmark::State& state) {
    if (std::is_same_v<Backend, sd::backend::cpu_bf16> && !sd::backend::cpu_bf16_available()) {
        state.SkipWithError("backend::cpu_bf16 needs AVX512-BF16, which this CPU lacks");
        return;
    }
    const sd::index_t n = state.range(0);
    sd::matrix<float> a(n, n), b(n, n), c(n, n);
    sd::random::fill_uniform(a, sd::random::counter_rng(1, 1), -1, 1);
    sd::random::fill_uniform(b, sd::random::counter_rng(1, 2), -1, 1);
    const sd::matrix_view<const float> av{a.data(), n, n}, bv{b.data(), n, n};
    for (auto _ : state) sd::backend::matmul<Backend>(av, false, bv, false, sd::matrix_view<float>{c.data(), n, n});
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(n) * double(n) * double(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(onednn_product<sd::backend::cpu_onednn>)->Name("onednn_product/f32/square")->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);
BENCHMARK(onednn_product<sd::backend::cpu_bf16>)->Name("bf16_product/square")->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);
SD_TRAIN_STEP_BF16(teacher_mode::cached, sparsity::untrained, "train_step_bf16_cached");
SD_TRAIN_STEP_BF16(teacher_mode::on_the_fly, sparsity::l0_64_sparse_path, "train_step_bf16_l0_64");
SD_TRAIN_STEP_BF16(teacher_mode::cached, sparsity::l0_64_sparse_path, "train_step_bf16_cached_l0_64");
#endif

BENCHMARK_MAIN();
