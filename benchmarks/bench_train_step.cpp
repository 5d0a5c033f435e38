// One training step (teacher forward, student forward, loss, backward, AdamW, decoder cap), in tokens
// per second, for the configurations of the peers in ../shared/peers: with the teacher on the fly
// (train_step/…) and with its outputs cached (train_step_cached/…: 8 batches of precomputed
// (x, y) pairs cycled, as training on harvested activations does).
// Reports L0 with every figure: an untrained student is dense, a trained one sparse.
//   ./benchmarks/bench_train_step --benchmark_filter=config_a
#include <benchmark/benchmark.h>
#include <sparse_distill.hpp>

namespace sd = sparse_distill;

namespace {

/// The step at a chosen sparsity: every b_enc is set to the same negative value, found by bisection
/// on a batch, so that about `target_l0` features fire per token (an untrained student is dense; a
/// trained one is not). state.range(4): target L0; state.range(5): 1 = sparse path allowed, 0 = dense.
template <class Scalar>
void train_step_at_l0(benchmark::State& state) {
    const sd::index_t d = state.range(0), m = state.range(1), h = state.range(2), batch = state.range(3);
    const double target_l0 = double(state.range(4));
    sd::teacher_mlp<Scalar> teacher(sd::random_mlp_weights<Scalar>(d, m, sd::activation::gelu, 1));
    sd::student_config config;
    config.d_in = config.d_out = d;
    config.d_sae = h;
    config.sparse_below_density = state.range(5) ? 1.0 : 0.0;
    sd::student_mlp<Scalar> student(config, 2);
    sd::data::gaussian_source<Scalar> source(d, 3);
    sd::matrix<Scalar> probe(batch, d);
    source.next_batch(probe);
    auto w = student.weights();
    double lo = -10, hi = 0;
    for (int i = 0; i < 40; ++i) {
        const double mid = 0.5 * (lo + hi);
        w.b_enc.setConstant(Scalar(mid));
        student.load(w);
        const double l0 = double((student.encode(probe).array() > Scalar(0)).count()) / double(batch);
        (l0 > target_l0 ? hi : lo) = mid;
    }
    sd::train_settings settings;
    settings.batch_size = batch;
    settings.tokens = std::int64_t{1} << 40;
    settings.loss.l1_coeff = 1e-3;
    settings.schedule = {1e-5, 0, 1000000, 1.0};  // tiny steps keep the chosen sparsity while timing
    sd::trainer<Scalar> trainer(student, &teacher, settings);
    sd::step_metrics metrics;
    trainer.step(source, metrics);
    for (auto _ : state) {
        trainer.step(source, metrics);
        benchmark::DoNotOptimize(metrics.terms.loss);
    }
    state.counters["tokens/s"] = benchmark::Counter(double(batch) * double(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["L0"] = metrics.terms.l0;
    state.counters["threads"] = sd::num_threads();
}

template <class Scalar, bool CachedTeacher>
void train_step(benchmark::State& state) {
    const sd::index_t d = state.range(0), m = state.range(1), h = state.range(2), batch = state.range(3);
    sd::teacher_mlp<Scalar> teacher(sd::random_mlp_weights<Scalar>(d, m, sd::activation::gelu, 1));
    sd::student_config config;
    config.d_in = config.d_out = d;
    config.d_sae = h;
    sd::student_mlp<Scalar> student(config, 2);
    sd::train_settings settings;
    settings.batch_size = batch;
    settings.tokens = std::int64_t{1} << 40;
    settings.loss.l1_coeff = 1e-3;
    settings.adam.weight_decay = 1e-4;
    settings.schedule = {1e-3, 0, 1000000, 0.1};
    sd::trainer<Scalar> trainer(student, &teacher, settings);
    sd::data::gaussian_source<Scalar> source(d, 3);
    sd::step_metrics metrics;
    const auto run = [&](auto& src) {
        trainer.step(src, metrics);  // allocates the optimizer state outside the timed loop
        for (auto _ : state) {
            trainer.step(src, metrics);
            benchmark::DoNotOptimize(metrics.terms.loss);
        }
    };
    if constexpr (CachedTeacher) {
        sd::matrix<Scalar> x(8 * batch, d);
        source.next_batch(x);
        sd::data::paired_source<Scalar> cached(x, teacher.forward(x), 4, /*shuffle=*/false);
        run(cached);
    } else {
        run(source);
    }
    state.counters["tokens/s"] = benchmark::Counter(double(batch) * double(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["L0"] = metrics.terms.l0;
    state.counters["threads"] = sd::num_threads();
}

}  // namespace

// {d, d_mlp, d_sae, batch}
#define SD_TRAIN_STEP_BENCHMARKS(function, prefix)                                                                      \
    BENCHMARK(function)->Name(prefix "/toy")->Args({1000, 1, 1, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();  \
    BENCHMARK(function)->Name(prefix "/config_a")->Args({64, 256, 1024, 1024})->Unit(benchmark::kMillisecond)->UseRealTime(); \
    BENCHMARK(function)->Name(prefix "/config_b")->Args({256, 1024, 4096, 1024})->Unit(benchmark::kMillisecond)->UseRealTime(); \
    BENCHMARK(function)                                                                                                \
        ->Name(prefix "/config_c")                                                                                     \
        ->Args({1024, 4096, 16384, 512})                                                                               \
        ->Unit(benchmark::kMillisecond)                                                                                \
        ->UseRealTime()                                                                                                \
        ->Iterations(3)

SD_TRAIN_STEP_BENCHMARKS((train_step<float, false>), "train_step");
SD_TRAIN_STEP_BENCHMARKS((train_step<float, true>), "train_step_cached");


// {d, d_mlp, d_sae, batch, target L0, sparse path allowed}
BENCHMARK(train_step_at_l0<float>)->Name("train_step_l0_64_dense/config_b")->Args({256, 1024, 4096, 1024, 64, 0})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(train_step_at_l0<float>)->Name("train_step_l0_64_sparse/config_b")->Args({256, 1024, 4096, 1024, 64, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(train_step_at_l0<float>)->Name("train_step_l0_64_dense/config_c")->Args({1024, 4096, 16384, 512, 64, 0})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(train_step_at_l0<float>)->Name("train_step_l0_64_sparse/config_c")->Args({1024, 4096, 16384, 512, 64, 1})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

BENCHMARK_MAIN();
