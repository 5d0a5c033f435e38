// The process the kill-and-resume test starts, kills and restarts: trains a small student on planted
// features with a checkpoint every few steps, and exits 128 + signal when SIGINT/SIGTERM stopped it.
//   resume_worker DIR STEPS EVERY [--resume]   train (or resume) with checkpoints in DIR
//   resume_worker --compare A B                 say how two checkpoints' parameters differ (exit 1 if they do)
#include <sparse_distill.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace sd = sparse_distill;

namespace {

int compare(const char* a, const char* b) {
    const auto x = sd::read_checkpoint<float>(a), y = sd::read_checkpoint<float>(b);
    std::size_t differing = 0;
    double worst = 0;
    for (std::size_t i = 0; i < x.parameters.size() && i < y.parameters.size(); ++i)
        if (x.parameters[i] != y.parameters[i]) {
            ++differing;
            worst = std::max(worst, std::abs(double(x.parameters[i]) - double(y.parameters[i])));
        }
    std::printf("steps %lld and %lld, %zu and %zu parameters, %zu differ, max |diff| %g\n", (long long)x.step,
                (long long)y.step, x.parameters.size(), y.parameters.size(), differing, worst);
    return differing == 0 && x.parameters.size() == y.parameters.size() && x.step == y.step ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc == 4 && std::string(argv[1]) == "--compare") return compare(argv[2], argv[3]);
    if (argc != 4 && !(argc == 5 && std::string(argv[4]) == "--resume")) {
        std::fprintf(stderr, "usage: %s DIR STEPS EVERY [--resume] | --compare A B\n", argv[0]);
        return 2;
    }
    // The same thread count in every run: bit-identity holds per thread count.
    sd::set_num_threads(2);
    sd::data::planted_feature_settings planted;
    planted.dim = 32;
    planted.features = 256;
    planted.probability = 0.02;
    sd::data::planted_feature_source<float> source(planted, 1);
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(32, 128, sd::activation::gelu, 2));
    sd::student_config config;
    config.d_in = config.d_out = 32;
    config.d_sae = 512;
    sd::student_mlp<float> student(config, 3);

    sd::train_settings settings;
    settings.batch_size = 128;
    settings.tokens = std::atoll(argv[2]) * settings.batch_size;
    settings.loss.l1_coeff = 1e-3;
    settings.schedule = {2e-3, 20, 0, 0.1};
    settings.checkpoint.directory = argv[1];
    settings.checkpoint.every = std::atoll(argv[3]);
    settings.checkpoint.resume = argc == 5;
    settings.checkpoint.identity = {{"seeds", "1 2 3"}};
    if (settings.checkpoint.resume)
        std::printf("resuming from step %lld\n",
                    (long long)sd::read_checkpoint<float>(sd::checkpoint_file(argv[1])).step);
    std::fflush(stdout);

    sd::trainer<float> trainer(student, teacher, settings);
    const sd::train_summary summary = trainer.run(source);
    if (summary.stop_signal != 0) {
        std::printf("interrupted by signal %d at step %lld\n", summary.stop_signal, (long long)summary.steps);
        return 128 + summary.stop_signal;
    }
    std::printf("finished at step %lld\n", (long long)summary.steps);
    return 0;
} catch (const std::exception& error) {
    std::fprintf(stderr, "resume_worker: %s\n", error.what());
    return 1;
}
