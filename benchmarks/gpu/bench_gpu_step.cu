// One training step on the GPU, per backend policy, for the configurations of the PyTorch peer
// ../shared/peers/torch_gpu_step.py, with the peer's settings (λ 2e-4 per token, AdamW lr 5e-5 with
// weight decay 1e-2 and a cosine schedule, decoder rows capped at norm 1). As the peer does, inputs
// come from a pool of 4 batches already on the device, and the teacher is either cached (targets
// precomputed for the pool) or live (run inside the step).
//   step/<backend>/<config>/<teacher>          an untrained (dense) student
//   step_l0_64/<backend>/<config>/<teacher>    b_enc shifted so that ~64 features fire per token: the
//                                              sparse decoder path (lr 1e-6 so the sparsity stays put)
//   step_graph/<backend>/<config>/<teacher>    the step replayed from a CUDA graph (train_settings::replay_steps)
//   step/cpu/<config>/<teacher>                the CPU policy on this machine's cores, small configs only
// Counters: tokens/s, L0, and the achieved TFLOP/s of the dense products (10·d·h per token, plus
// 4·d·m for a live teacher), as the peer counts them.
#include <benchmark/benchmark.h>
#include <sparse_distill.hpp>
#include <sparse_distill/backend/cuda.hpp>

#include "../shift_to_l0.hpp"

#include <string>
#include <vector>

namespace sd = sparse_distill;

namespace {

enum class teacher_mode { cached, live };
enum class step_kind { dense, l0_64, graph };

constexpr int pool_batches = 4;

struct config {
    const char* name;
    sd::index_t d, m, h, batch;
};

// The peer's configurations, in its order.
const config configs[] = {
    {"toy_single_neuron", 1000, 1, 1, 1024},
    {"tinystories1M_like", 64, 256, 1024, 4096},
    {"gpt2small_like_x8", 768, 3072, 24576, 4096},
    {"ts2L33M_headline", 1024, 4096, 16384, 4096},
};

template <class Backend, teacher_mode Teacher, step_kind Kind>
void train_step(benchmark::State& state, config c) {
    using buffer = typename Backend::template buffer<float>;
    sd::teacher_mlp<float, Backend> teacher(sd::random_mlp_weights<float>(c.d, c.m, sd::activation::gelu, 1));
    sd::student_config sc;
    sc.d_in = sc.d_out = c.d;
    sc.d_sae = c.h;
    if (Kind == step_kind::dense) sc.sparse_below_density = 0;  // an untrained student is dense anyway
    sd::student_mlp<float, Backend> student(sc, 2);

    sd::matrix<float> host_pool(pool_batches * c.batch, c.d);
    sd::data::gaussian_source<float>(c.d, 3).next_batch(host_pool);
    if (Kind == step_kind::l0_64) sd_bench::shift_to_l0(student, sd::matrix<float>(host_pool.topRows(std::min<sd::index_t>(c.batch, 512))), 64.0);
    std::vector<buffer> xs, ys;
    sd::teacher_workspace<float, Backend> teacher_ws;
    for (int i = 0; i < pool_batches; ++i) {
        xs.emplace_back(c.batch * c.d);
        ys.emplace_back(c.batch * c.d);
        sd::backend::copy_from_host<Backend>(host_pool.data() + i * c.batch * c.d, xs[i].data(), c.batch * c.d);
        teacher.forward(sd::matrix_view<const float>{xs[i].data(), c.batch, c.d}, sd::matrix_view<float>{ys[i].data(), c.batch, c.d}, teacher_ws);
    }
    const auto x = [&](int i) { return sd::matrix_view<const float>{xs[i % pool_batches].data(), c.batch, c.d}; };
    const auto y = [&](int i) { return sd::matrix_view<float>{ys[i % pool_batches].data(), c.batch, c.d}; };

    sd::train_settings settings;  // the peer's settings
    settings.batch_size = c.batch;
    settings.tokens = std::int64_t{1} << 40;
    settings.loss.l1_coeff = 2e-4;
    settings.adam.weight_decay = 1e-2;
    settings.schedule = {Kind == step_kind::l0_64 ? 1e-6 : 5e-5, 0, 10000, 0.0};
    sd::step_metrics metrics;
    int i = 0;
    // The graph kind records each pool batch's step once (a plain step, then a capture) and replays it.
    settings.replay_steps = Kind == step_kind::graph;
    sd::trainer<float, Backend> trainer(student, teacher, settings);
    const auto one = [&] {
        if constexpr (Teacher == teacher_mode::live) trainer.step_on_batch(x(i), metrics);  // the teacher fills y
        else trainer.step_on_batch(x(i), y(i), metrics);
        ++i;
    };
    for (int warm = 0; warm < (Kind == step_kind::graph ? 2 * pool_batches : 3); ++warm) one();
    for (auto _ : state) one();  // each step waits for its loss, so wall time is device time
    sd::backend::synchronize<Backend>();
    const double tokens = double(c.batch) * double(state.iterations());
    state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
    const double flop_per_token = 10.0 * c.d * c.h + (Teacher == teacher_mode::live ? 4.0 * c.d * c.m : 0.0);
    state.counters["TFLOP/s"] = benchmark::Counter(tokens * flop_per_token * 1e-12, benchmark::Counter::kIsRate);
    state.counters["L0"] = metrics.terms.l0;
}

template <class Backend, teacher_mode Teacher, step_kind Kind>
void add(const char* prefix, const config& c) {
    const std::string name = std::string(prefix) + "/" + Backend::name + "/" + c.name + "/" +
                             (Teacher == teacher_mode::cached ? "cached" : "live");
    benchmark::RegisterBenchmark(name.c_str(), train_step<Backend, Teacher, Kind>, c)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(0.3);
}

template <class Backend>
void add_dense_and_sparse() {
    for (const config& c : configs) {
        add<Backend, teacher_mode::cached, step_kind::dense>("step", c);
        add<Backend, teacher_mode::live, step_kind::dense>("step", c);
    }
    for (const config& c : configs)
        if (c.h > 64 * 20) {  // L0 64 is under the 5% density below which the sparse path runs
            add<Backend, teacher_mode::cached, step_kind::l0_64>("step_l0_64", c);
            add<Backend, teacher_mode::live, step_kind::l0_64>("step_l0_64", c);
        }
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (!sd::backend::cuda_device_available()) {
        std::fprintf(stderr, "bench_gpu_step: no CUDA device\n");
        return 1;
    }
    add_dense_and_sparse<sd::backend::cuda>();
    add_dense_and_sparse<sd::backend::cuda_tf32>();
    add_dense_and_sparse<sd::backend::cuda_bf16>();
    for (const config& c : {configs[0], configs[1]}) {  // where launches dominate
        add<sd::backend::cuda, teacher_mode::cached, step_kind::graph>("step_graph", c);
        add<sd::backend::cuda, teacher_mode::live, step_kind::graph>("step_graph", c);
        add<sd::backend::cpu, teacher_mode::cached, step_kind::dense>("step", c);
        add<sd::backend::cpu, teacher_mode::live, step_kind::dense>("step", c);
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
