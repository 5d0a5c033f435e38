// The parts of one training step, each timed alone on the backend's own ops, for configs (b) and (c)
// of the peers: the encoder product, bias + activation + L1 sums, the decoder (dense, and sparse at
// L0 = 64), the loss gradient, each backward product, the activation backward, Adam and the decoder
// constraint. Matrix products report GFLOP/s; `sgemm/…` measures the machine's single-precision
// GEMM rate on the same products (Eigen, and OpenBLAS when the build found cblas) so the percentage of
// the sgemm rate can be read off one run. Outputs are written once before timing, so page faults on
// fresh memory (a step in training reuses its buffers) are not counted.
// Every part also reports `flop` and `bytes`: the arithmetic it must do and the memory traffic it cannot
// avoid (each operand read once, each output written once), the inputs of the roofline table that
// benchmarks/roofline.sh prints against the sgemm rate and the memory bandwidth (`memory/triad`) measured
// in the same run:
//   ./benchmarks/bench_parts --benchmark_filter=config_c
#include <benchmark/benchmark.h>
#include <sparse_distill.hpp>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <thread>

#ifdef SD_BENCH_HAVE_CBLAS
#include <cblas.h>
#endif

namespace sd = sparse_distill;
using cpu = sd::backend::cpu;

namespace {

struct shape {
    sd::index_t d, h, batch, d_mlp;
};
constexpr shape config_b{256, 4096, 1024, 1024};
constexpr shape config_c{1024, 16384, 512, 4096};
constexpr sd::index_t l0 = 64;  // the active features per token of the sparse parts

/// The part's unavoidable work per call, for the roofline: floating-point operations and bytes moved.
void set_cost(benchmark::State& state, double flop, double bytes) {
    state.counters["flop"] = flop;
    state.counters["bytes"] = bytes;
}

sd::matrix<float> random_matrix(sd::index_t rows, sd::index_t cols, float scale = 1) {
    sd::matrix<float> m = sd::matrix<float>::Zero(rows, cols);
    sd::random::fill_uniform(m, sd::random::counter_rng(7, std::uint64_t(rows * 131 + cols)), -scale, scale);
    return m;
}

/// Activations with exactly `l0` positive entries per row at random features (the rest zero).
sd::matrix<float> sparse_activations(sd::index_t rows, sd::index_t h, sd::index_t l0) {
    sd::matrix<float> a = sd::matrix<float>::Zero(rows, h);
    std::vector<sd::index_t> features(static_cast<std::size_t>(h));
    const sd::random::counter_rng rng(11, 1);
    for (sd::index_t r = 0; r < rows; ++r) {
        std::iota(features.begin(), features.end(), sd::index_t{0});
        for (sd::index_t k = 0; k < l0; ++k) {  // partial Fisher–Yates: the first l0 are a uniform sample
            const auto u = rng.uniform(std::uint64_t(r * h + k));
            const sd::index_t pick = k + std::min<sd::index_t>(h - k - 1, sd::index_t(u * double(h - k)));
            std::swap(features[static_cast<std::size_t>(k)], features[static_cast<std::size_t>(pick)]);
            a(r, features[static_cast<std::size_t>(k)]) = float(0.5 + u);
        }
    }
    return a;
}

/// The decoder rows a batch at L0 64 touches: every feature, unless the batch has fewer active pairs.
double touched_rows(shape s) { return double(std::min(s.h, s.batch * l0)); }

sd::matrix_view<const float> in(const sd::matrix<float>& m) { return {m.data(), m.rows(), m.cols()}; }
sd::matrix_view<float> out(sd::matrix<float>& m) { return {m.data(), m.rows(), m.cols()}; }

void set_product_rate(benchmark::State& state, double m, double n, double k) {
    state.counters["GFLOP/s"] = benchmark::Counter(2 * m * n * k * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["threads"] = sd::num_threads();
}

void set_token_rate(benchmark::State& state, sd::index_t batch) {
    state.counters["tokens/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["threads"] = sd::num_threads();
}

// ---- the machine's sgemm rate: c[m, n] = a[m, k]·b[k, n], row-major, no transposes ----
void sgemm_eigen(benchmark::State& state) {
    const sd::index_t m = state.range(0), n = state.range(1), k = state.range(2);
    const sd::matrix<float> a = random_matrix(m, k), b = random_matrix(k, n);
    sd::matrix<float> c = sd::matrix<float>::Zero(m, n);
    for (auto _ : state) {
        c.noalias() = a * b;
        benchmark::DoNotOptimize(c.data());
    }
    set_product_rate(state, double(m), double(n), double(k));
}

#ifdef SD_BENCH_HAVE_CBLAS
void sgemm_cblas(benchmark::State& state) {
    const sd::index_t m = state.range(0), n = state.range(1), k = state.range(2);
    const sd::matrix<float> a = random_matrix(m, k), b = random_matrix(k, n);
    sd::matrix<float> c = sd::matrix<float>::Zero(m, n);
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(n), int(k), 1.f, a.data(), int(k), b.data(),
                    int(n), 0.f, c.data(), int(n));
        benchmark::DoNotOptimize(c.data());
    }
    set_product_rate(state, double(m), double(n), double(k));
}
#endif

// ---- forward ----
void teacher_forward(benchmark::State& state, shape s) {  // y = gelu(x·W_inᵀ + b_in)·W_out + b_out
    const sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(s.d, s.d_mlp, sd::activation::gelu, 1));
    const sd::matrix<float> x = random_matrix(s.batch, s.d);
    sd::matrix<float> y = sd::matrix<float>::Zero(s.batch, s.d);
    sd::teacher_mlp<float>::workspace ws;
    teacher.forward(in(x), out(y), ws);
    for (auto _ : state) teacher.forward(in(x), out(y), ws);
    set_product_rate(state, double(s.batch), 2.0 * double(s.d_mlp), double(s.d));
    // Two products; the hidden layer is written and read once by the GELU pass.
    set_cost(state, 4.0 * double(s.batch) * double(s.d) * double(s.d_mlp),
             4.0 * (2.0 * double(s.batch) * double(s.d) + 2.0 * double(s.d) * double(s.d_mlp) + 3.0 * double(s.batch) * double(s.d_mlp)));
}

void encoder_product(benchmark::State& state, shape s) {  // z = x·W_encᵀ
    const sd::matrix<float> x = random_matrix(s.batch, s.d), w_enc = random_matrix(s.h, s.d, 0.05f);
    sd::matrix<float> z = sd::matrix<float>::Zero(s.batch, s.h);
    for (auto _ : state) sd::backend::matmul<cpu>(in(x), false, in(w_enc), true, out(z));
    set_product_rate(state, double(s.batch), double(s.h), double(s.d));
    set_cost(state, 2.0 * double(s.batch) * double(s.h) * double(s.d), 4.0 * (double(s.batch) * double(s.d) + double(s.h) * double(s.d) + double(s.batch) * double(s.h)));
}

void bias_activation_l1(benchmark::State& state, shape s) {  // z += b; a = relu(z); Σ|a|, #(a > 0)
    const sd::matrix<float> z0 = random_matrix(s.batch, s.h);
    sd::matrix<float> z = z0, a(s.batch, s.h);
    const sd::vector<float> b = sd::vector<float>::Constant(s.h, 0);
    for (auto _ : state) {
        const auto sums = sd::backend::bias_activate<cpu>(out(z), sd::vector_view<const float>{b.data(), s.h}, sd::activation::relu, out(a));
        benchmark::DoNotOptimize(sums);
    }
    set_token_rate(state, s.batch);
    set_cost(state, 0, 12.0 * double(s.batch) * double(s.h));  // z read and written back with its bias, a written
}

void decoder_dense(benchmark::State& state, shape s) {  // ŷ = a·W_dec
    const sd::matrix<float> a = sparse_activations(s.batch, s.h, l0), w_dec = random_matrix(s.h, s.d, 0.05f);
    sd::matrix<float> y = sd::matrix<float>::Zero(s.batch, s.d);
    for (auto _ : state) sd::backend::matmul<cpu>(in(a), false, in(w_dec), false, out(y));
    set_product_rate(state, double(s.batch), double(s.d), double(s.h));
    set_cost(state, 2.0 * double(s.batch) * double(s.d) * double(s.h), 4.0 * (double(s.batch) * double(s.h) + double(s.h) * double(s.d) + double(s.batch) * double(s.d)));
}

void decoder_sparse(benchmark::State& state, shape s) {  // collect the active pairs, then ŷ from them
    const sd::matrix<float> a = sparse_activations(s.batch, s.h, l0), w_dec = random_matrix(s.h, s.d, 0.05f);
    sd::matrix<float> y = sd::matrix<float>::Zero(s.batch, s.d);
    cpu::sparse_pattern pattern;
    for (auto _ : state) {
        sd::backend::collect_active<cpu, float>(in(a), pattern);
        sd::backend::sparse_decode<cpu>(in(a), pattern, in(w_dec), out(y));
    }
    set_token_rate(state, s.batch);
    state.counters["L0"] = l0;
    // a read to find the pairs, each touched decoder row read once, ŷ written.
    set_cost(state, 2.0 * double(s.batch) * double(l0) * double(s.d),
             4.0 * (double(s.batch) * double(s.h) + touched_rows(s) * double(s.d) + double(s.batch) * double(s.d)));
}

void loss_gradient(benchmark::State& state, shape s) {  // ∂ŷ = 2/B·(ŷ − y), Σ(ŷ − y)²
    const sd::matrix<float> prediction = random_matrix(s.batch, s.d), target = random_matrix(s.batch, s.d);
    sd::matrix<float> grad = sd::matrix<float>::Zero(s.batch, s.d);
    for (auto _ : state) benchmark::DoNotOptimize(sd::backend::squared_error_gradient<cpu>(in(prediction), in(target), out(grad), 2.f / float(s.batch)));
    set_token_rate(state, s.batch);
    set_cost(state, 3.0 * double(s.batch) * double(s.d), 12.0 * double(s.batch) * double(s.d));
}

// ---- backward, dense ----
void decoder_weight_gradient(benchmark::State& state, shape s) {  // ∂W_dec = aᵀ·∂ŷ
    const sd::matrix<float> a = random_matrix(s.batch, s.h), dy = random_matrix(s.batch, s.d);
    sd::matrix<float> g = sd::matrix<float>::Zero(s.h, s.d);
    for (auto _ : state) sd::backend::matmul<cpu>(in(a), true, in(dy), false, out(g));
    set_product_rate(state, double(s.h), double(s.d), double(s.batch));
    set_cost(state, 2.0 * double(s.batch) * double(s.d) * double(s.h), 4.0 * (double(s.batch) * double(s.h) + double(s.batch) * double(s.d) + double(s.h) * double(s.d)));
}

void activation_gradient_product(benchmark::State& state, shape s) {  // ∂a = ∂ŷ·W_decᵀ
    const sd::matrix<float> dy = random_matrix(s.batch, s.d), w_dec = random_matrix(s.h, s.d, 0.05f);
    sd::matrix<float> da = sd::matrix<float>::Zero(s.batch, s.h);
    for (auto _ : state) sd::backend::matmul<cpu>(in(dy), false, in(w_dec), true, out(da));
    set_product_rate(state, double(s.batch), double(s.h), double(s.d));
    set_cost(state, 2.0 * double(s.batch) * double(s.d) * double(s.h), 4.0 * (double(s.batch) * double(s.h) + double(s.batch) * double(s.d) + double(s.h) * double(s.d)));
}

void activation_backward_l1(benchmark::State& state, shape s) {  // ∂z = (∂a + λ'·sign a) ⊙ relu'(z)
    const sd::matrix<float> z = random_matrix(s.batch, s.h), da0 = random_matrix(s.batch, s.h);
    const sd::matrix<float> a = z.cwiseMax(0.f);
    sd::matrix<float> da = da0;
    for (auto _ : state) sd::backend::activation_backward<cpu>(out(da), in(z), in(a), sd::activation::relu, 1e-3f);
    set_token_rate(state, s.batch);
    set_cost(state, 0, 16.0 * double(s.batch) * double(s.h));  // ∂a, z, a read; ∂z written
}

void encoder_weight_gradient(benchmark::State& state, shape s) {  // ∂W_enc = ∂zᵀ·x
    const sd::matrix<float> dz = random_matrix(s.batch, s.h), x = random_matrix(s.batch, s.d);
    sd::matrix<float> g = sd::matrix<float>::Zero(s.h, s.d);
    for (auto _ : state) sd::backend::matmul<cpu>(in(dz), true, in(x), false, out(g));
    set_product_rate(state, double(s.h), double(s.d), double(s.batch));
    set_cost(state, 2.0 * double(s.batch) * double(s.d) * double(s.h), 4.0 * (double(s.batch) * double(s.h) + double(s.batch) * double(s.d) + double(s.h) * double(s.d)));
}

// ---- backward, sparse at L0 = 64: ∂W_dec, ∂W_enc and Σ∂z from the active pairs ----
void sparse_backward(benchmark::State& state, shape s) {
    const sd::matrix<float> a = sparse_activations(s.batch, s.h, l0), w_dec = random_matrix(s.h, s.d, 0.05f);
    const sd::matrix<float> dy = random_matrix(s.batch, s.d), x = random_matrix(s.batch, s.d);
    sd::matrix<float> g_dec = sd::matrix<float>::Zero(s.h, s.d), g_enc = sd::matrix<float>::Zero(s.h, s.d);
    cpu::sparse_pattern pattern;
    sd::backend::collect_active<cpu, float>(in(a), pattern);
    for (auto _ : state) sd::backend::sparse_backward<cpu>(in(a), pattern, in(dy), in(w_dec), in(x), 1e-3f, out(g_dec), out(g_enc));
    set_token_rate(state, s.batch);
    state.counters["L0"] = l0;
    // Three products over the pairs (∂z, ∂W_dec, ∂W_enc); the touched decoder rows read, both weight
    // gradients written whole (rows of silent features are zeros), ∂ŷ and x read.
    set_cost(state, 6.0 * double(s.batch) * double(l0) * double(s.d),
             4.0 * (touched_rows(s) * double(s.d) + 2.0 * double(s.h) * double(s.d) + 2.0 * double(s.batch) * double(s.d)));
}

// ---- the machine's memory bandwidth: STREAM's triad a = b + s·c over 3 × 128 MB (far beyond the caches),
// counted as STREAM counts it (two reads and a write per element) ----
void memory_triad(benchmark::State& state) {
    const std::size_t n = std::size_t{32} << 20;
    std::vector<float> a(n, 0.f), b(n, 1.f), c(n, 2.f);
    const auto count = static_cast<std::ptrdiff_t>(n);
    for (auto _ : state) {
#pragma omp parallel for schedule(static)
        for (std::ptrdiff_t i = 0; i < count; ++i) a[std::size_t(i)] = b[std::size_t(i)] + 0.5f * c[std::size_t(i)];
        benchmark::DoNotOptimize(a.data());
    }
    state.counters["GB/s"] = benchmark::Counter(3.0 * double(n) * sizeof(float) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["threads"] = sd::num_threads();
}

// ---- where the host placed our two cores: the round trip of a cache line between two threads. On this
// project's 2-vCPU VMs it reads ~100 ns in some periods and ~340 ns in others (the vCPUs on distant
// cores), and a 2-thread toy step then runs ~3× slower; compare_torch.sh prints it with every round. ----
void core_round_trip(benchmark::State& state) {
    alignas(64) std::atomic<std::int64_t> flag{0};
    constexpr std::int64_t trips = 20000;
    for (auto _ : state) {
        flag.store(0);
        std::thread other([&] {
            for (std::int64_t i = 0; i < trips; ++i) {
                while (flag.load(std::memory_order_acquire) != 2 * i + 1) {}
                flag.store(2 * i + 2, std::memory_order_release);
            }
        });
        for (std::int64_t i = 0; i < trips; ++i) {
            flag.store(2 * i + 1, std::memory_order_release);
            while (flag.load(std::memory_order_acquire) != 2 * i + 2) {}
        }
        other.join();
    }
    state.counters["ns_per_round_trip"] = benchmark::Counter(double(trips) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// ---- parameter updates over the whole student (2·h·d weights + biases) ----
void adam(benchmark::State& state, shape s) {
    const sd::index_t n = 2 * s.h * s.d + s.h + s.d;
    std::vector<float> params(static_cast<std::size_t>(n), 0.01f), grads(params.size(), 0.001f), m(params.size()), v(params.size());
    sd::optim::adam_update_args args;
    args.lr = 1e-4;
    args.weight_decay = 1e-4;
    for (auto _ : state) {
        ++args.step;
        sd::backend::adam_update<cpu>(params.data(), grads.data(), m.data(), v.data(), n, args);
    }
    // Adam reads θ, g, m, v and writes θ, m, v.
    state.counters["GB/s"] = benchmark::Counter(double(n) * 7 * sizeof(float) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    set_token_rate(state, s.batch);
    set_cost(state, 0, double(n) * 7 * sizeof(float));
}

void decoder_constraint(benchmark::State& state, shape s) {
    sd::matrix<float> w_dec = random_matrix(s.h, s.d, 0.05f);
    for (auto _ : state) sd::backend::constrain_rows<cpu>(out(w_dec), sd::decoder_norm::cap);
    set_token_rate(state, s.batch);
    set_cost(state, 3.0 * double(s.h) * double(s.d), 8.0 * double(s.h) * double(s.d));
}

void register_parts(const char* name, shape s) {
    const std::string prefix = std::string("parts/") + name + "/";
    const auto add = [&](const char* part, void (*fn)(benchmark::State&, shape)) {
        benchmark::RegisterBenchmark((prefix + part).c_str(), fn, s)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);
    };
    add("0_teacher_forward", teacher_forward);
    add("1_encoder_product", encoder_product);
    add("2_bias_activation_l1", bias_activation_l1);
    add("3_decoder_dense", decoder_dense);
    add("3_decoder_sparse_l0_64", decoder_sparse);
    add("4_loss_gradient", loss_gradient);
    add("5_decoder_weight_gradient", decoder_weight_gradient);
    add("6_activation_gradient_product", activation_gradient_product);
    add("7_activation_backward_l1", activation_backward_l1);
    add("8_encoder_weight_gradient", encoder_weight_gradient);
    add("5-8_sparse_backward_l0_64", sparse_backward);
    add("9_adam", adam);
    add("10_decoder_constraint", decoder_constraint);
}

const bool registered = [] {
    register_parts("config_b", config_b);
    register_parts("config_c", config_c);
    // {m, n, k}: a square reference and the encoder product of (b) and (c) as plain row-major GEMMs.
    for (const auto& [name, m, n, k] : {std::tuple{"square_2048", 2048, 2048, 2048}, std::tuple{"config_b_encoder", 1024, 4096, 256},
                                        std::tuple{"config_c_encoder", 512, 16384, 1024}}) {
        benchmark::RegisterBenchmark((std::string("sgemm/eigen/") + name).c_str(), sgemm_eigen)
            ->Args({m, n, k})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);
#ifdef SD_BENCH_HAVE_CBLAS
        benchmark::RegisterBenchmark((std::string("sgemm/cblas/") + name).c_str(), sgemm_cblas)
            ->Args({m, n, k})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);
#endif
    }
    benchmark::RegisterBenchmark("machine/core_round_trip", core_round_trip)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.2);
    benchmark::RegisterBenchmark("memory/triad", memory_triad)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
