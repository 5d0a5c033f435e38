// Trains a tiny student through the public umbrella header; exits non-zero if the loss does not fall.
#include <sparse_distill.hpp>

#include <cstdio>

int main() {
    namespace sd = sparse_distill;
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(8, 16, sd::activation::gelu, 1));
    sd::student_config config;
    config.d_in = config.d_out = 8;
    config.d_sae = 32;
    sd::student_mlp<float> student(config, 2);
    sd::train_settings settings;
    settings.batch_size = 64;
    settings.tokens = 64 * 300;
    settings.schedule.lr = 1e-2;
    sd::trainer<float> trainer(student, teacher, settings);
    sd::data::gaussian_source<float> source(8, 3);
    sd::step_metrics first;
    trainer.step(source, first);
    const sd::train_summary summary = trainer.run(source);
    std::printf("consumer: loss %.4f -> %.4f after %lld steps\n", first.terms.loss, summary.last.terms.loss,
                static_cast<long long>(summary.steps));
    return summary.last.terms.loss < 0.5 * first.terms.loss ? 0 : 1;
}
