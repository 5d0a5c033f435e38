// The parts of one GPU step at the headline shape (d = 1024, d_sae = 16384, batch 4096), each op timed
// alone (queued, then the stream waited for), so the step's time can be placed: the products per
// precision, the fused elementwise passes, the sparse path at L0 ≈ 64 and the Adam pass.
//   ./bench_gpu_parts            GB/s counts the fewest bytes each op must move
#include <benchmark/benchmark.h>
#include <sparse_distill.hpp>
#include <sparse_distill/backend/cuda.hpp>

#include <cstdio>

namespace sd = sparse_distill;

namespace {

constexpr sd::index_t d = 1024, h = 16384, batch = 4096;

template <class Backend = sd::backend::cuda>
struct device_matrix {
    typename Backend::template buffer<float> buffer;
    sd::index_t rows, cols;
    device_matrix(const sd::matrix<float>& host) : buffer(host.size()), rows(host.rows()), cols(host.cols()) {
        sd::backend::copy_from_host<Backend>(host.data(), buffer.data(), host.size());
    }
    device_matrix(sd::index_t r, sd::index_t c) : buffer(r * c), rows(r), cols(c) {}
    sd::matrix_view<float> view() { return {buffer.data(), rows, cols}; }
};

sd::matrix<float> random(sd::index_t rows, sd::index_t cols, std::uint64_t seed, float scale = 1.0f) {
    sd::matrix<float> m(rows, cols);
    sd::random::fill_normal(m, sd::random::counter_rng(seed, 5));
    return m * scale;
}

/// Activations with about 64 of 16384 features active per token (ReLU of shifted normals).
sd::matrix<float> sparse_activations() {
    sd::matrix<float> a = random(batch, h, 9);
    const float threshold = 2.42f;  // P(N(0,1) > 2.42) ≈ 0.0078 ≈ 64 / 16384
    return (a.array() - threshold).cwiseMax(0.0f).matrix();
}

struct fixture {
    device_matrix<> x{random(batch, d, 1)}, w_enc{random(h, d, 2, 0.03f)}, w_dec{random(h, d, 3, 0.03f)};
    device_matrix<> z{batch, h}, a{sparse_activations()}, dense_a{random(batch, h, 10)}, y{batch, d}, dy{random(batch, d, 4)};
    device_matrix<> g_enc{h, d}, g_dec{h, d}, b_enc{random(1, h, 5)}, b_dec{random(1, d, 6)};
    sd::backend::cuda::sparse_pattern pattern;
    fixture() { sd::backend::collect_active<sd::backend::cuda, float>(a.view(), pattern); }
    static fixture& get() {
        static fixture f;
        return f;
    }
};

template <class F>
void time_op(benchmark::State& state, double bytes, double flop, F&& op) {
    op();
    sd::backend::synchronize<sd::backend::cuda>();
    for (auto _ : state) {
        op();
        sd::backend::synchronize<sd::backend::cuda>();
    }
    state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
    if (flop > 0) state.counters["TFLOP/s"] = benchmark::Counter(flop * 1e-12 * double(state.iterations()), benchmark::Counter::kIsRate);
}

template <class Backend>
void encoder(benchmark::State& state) {
    fixture& f = fixture::get();
    time_op(state, 4.0 * (batch * d + h * d + batch * h), 2.0 * batch * d * h,
            [&] { sd::backend::matmul<Backend>(f.x.view(), false, f.w_enc.view(), true, f.z.view()); });
}
template <class Backend>
void dense_decoder(benchmark::State& state) {
    fixture& f = fixture::get();
    time_op(state, 4.0 * (batch * h + h * d + batch * d), 2.0 * batch * d * h,
            [&] { sd::backend::matmul<Backend>(f.dense_a.view(), false, f.w_dec.view(), false, f.y.view()); });
}
template <class Backend>
void weight_gradient(benchmark::State& state) {
    fixture& f = fixture::get();
    time_op(state, 4.0 * (batch * h + batch * d + h * d), 2.0 * batch * d * h,
            [&] { sd::backend::matmul<Backend>(f.dense_a.view(), true, f.dy.view(), false, f.g_dec.view()); });
}

void bias_activate(benchmark::State& state) {
    fixture& f = fixture::get();
    time_op(state, 4.0 * 3 * batch * h, 0, [&] {
        sd::backend::bias_activate<sd::backend::cuda>(f.z.view(), sd::vector_view<const float>{f.b_enc.buffer.data(), h}, sd::activation::relu,
                                         f.dense_a.view());
    });
}
void activation_backward(benchmark::State& state) {
    fixture& f = fixture::get();
    time_op(state, 4.0 * 3 * batch * h, 0, [&] {
        sd::backend::activation_backward<sd::backend::cuda>(f.dense_a.view(), f.z.view(), f.a.view(), sd::activation::relu, 1e-4f);
    });
}
void collect_active(benchmark::State& state) {
    fixture& f = fixture::get();
    time_op(state, 4.0 * batch * h, 0, [&] { sd::backend::collect_active<sd::backend::cuda, float>(f.a.view(), f.pattern); });
    state.counters["pairs/token"] = double(f.pattern.nnz()) / double(batch);
}
void sparse_decode(benchmark::State& state) {
    fixture& f = fixture::get();
    time_op(state, 4.0 * (f.pattern.nnz() * (d + 2) + batch * d), 0,
            [&] { sd::backend::sparse_decode<sd::backend::cuda>(f.a.view(), f.pattern, f.w_dec.view(), f.y.view()); });
}
void sparse_backward(benchmark::State& state) {
    fixture& f = fixture::get();
    time_op(state, 4.0 * (3 * f.pattern.nnz() * d + 2 * h * d), 0, [&] {
        sd::backend::sparse_backward<sd::backend::cuda>(f.a.view(), f.pattern, f.dy.view(), f.w_dec.view(), f.x.view(), 1e-4f, f.g_dec.view(),
                                           f.g_enc.view());
    });
}
void squared_error(benchmark::State& state) {
    fixture& f = fixture::get();
    time_op(state, 4.0 * 3 * batch * d, 0, [&] {
        benchmark::DoNotOptimize(sd::backend::squared_error_gradient<sd::backend::cuda>(f.y.view(), f.x.view(), f.dy.view(), 1e-3f));
    });
}
void column_sums(benchmark::State& state) {
    fixture& f = fixture::get();
    time_op(state, 4.0 * batch * d, 0,
            [&] { sd::backend::column_sums<sd::backend::cuda>(f.dy.view(), sd::vector_view<float>{f.b_dec.buffer.data(), d}); });
}
void adam(benchmark::State& state) {
    const sd::index_t n = 2 * h * d + h + d;
    static sd::backend::cuda::buffer<float> p(n), g(n), m(n), v(n);
    sd::optim::adam_update_args args;
    args.lr = 1e-4;
    args.weight_decay = 1e-2;
    args.constrain = {h * d + h, h, d, sd::decoder_norm::cap};
    time_op(state, 4.0 * 7 * n, 0, [&] {
        ++args.step;
        sd::backend::adam_update<sd::backend::cuda>(p.data(), g.data(), m.data(), v.data(), n, args);
    });
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (!sd::backend::cuda_device_available()) {
        std::fprintf(stderr, "bench_gpu_parts: no CUDA device\n");
        return 1;
    }
    const auto add = [](const char* name, void (*f)(benchmark::State&)) {
        benchmark::RegisterBenchmark(name, f)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(0.2);
    };
    add("encoder/fp32", encoder<sd::backend::cuda>);
    add("encoder/tf32", encoder<sd::backend::cuda_tf32>);
    add("encoder/bf16", encoder<sd::backend::cuda_bf16>);
    add("dense_decoder/tf32", dense_decoder<sd::backend::cuda_tf32>);
    add("dense_decoder/bf16", dense_decoder<sd::backend::cuda_bf16>);
    add("weight_gradient/bf16", weight_gradient<sd::backend::cuda_bf16>);
    add("bias_activate_relu", bias_activate);
    add("activation_backward_relu", activation_backward);
    add("sparse/collect_active_l0_64", collect_active);
    add("sparse/decode_l0_64", sparse_decode);
    add("sparse/backward_l0_64", sparse_backward);
    add("squared_error", squared_error);
    add("column_sums_dy", column_sums);
    add("adam_fused_constraint", adam);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
