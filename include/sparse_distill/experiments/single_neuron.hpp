#pragma once
// The single-neuron toy of the post's Appendix A (Figures 9 and 10): x ~ N(0, I_d); the teacher has one
// ReLU neuron reading e₀ and writing e₁, no biases; the student has one ReLU neuron, no biases, no L1,
// and is trained with Adam. The finding: the decoder aligns with e₁ quickly while the encoder's cosine to
// e₀ stays low when decoder norms are capped at 1, and rises (slowly) when they are not.
#include "../data/gaussian_source.hpp"
#include "../nn/student.hpp"
#include "../nn/teacher.hpp"
#include "../train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace sparse_distill::experiments {

struct single_neuron_settings {
    index_t d = 1000;
    std::int64_t steps = 10000;
    double lr = 0.01;              ///< constant (no warmup, no decay), as the post's code
    index_t batch = 8;
    std::uint64_t seed = 0;
    decoder_norm constraint = decoder_norm::cap;
    student_init init = student_init::linear_default;
    std::int64_t summary_window = 1000;  ///< "mean over the last N steps" in the summary
};

struct single_neuron_trace {
    std::vector<double> encoder_cosine;  ///< cos(student encoder row, e₀) after each step
    std::vector<double> decoder_cosine;  ///< cos(student decoder row, e₁) after each step
    std::vector<double> decoder_norm;    ///< ‖student decoder row‖ after each step
    std::vector<double> loss;            ///< the batch loss at each step (before its update)

    double final_encoder() const { return encoder_cosine.empty() ? 0 : encoder_cosine.back(); }
    double final_decoder() const { return decoder_cosine.empty() ? 0 : decoder_cosine.back(); }
    /// Mean of the last `window` values (all of them if fewer).
    static double tail_mean(const std::vector<double>& v, std::int64_t window) {
        const std::size_t n = std::min<std::size_t>(v.size(), static_cast<std::size_t>(std::max<std::int64_t>(1, window)));
        double sum = 0;
        for (std::size_t i = v.size() - n; i < v.size(); ++i) sum += v[i];
        return n ? sum / double(n) : 0;
    }
};

/// Runs the toy once and records the cosines at every step.
template <class Scalar = float, class Backend = backend::cpu>
single_neuron_trace run_single_neuron(const single_neuron_settings& s) {
    mlp_weights<Scalar> tw;
    tw.act = activation::relu;
    tw.w_in = matrix<Scalar>::Zero(1, s.d);
    tw.w_out = matrix<Scalar>::Zero(1, s.d);
    tw.w_in(0, 0) = 1;   // reads e₀
    tw.w_out(0, 1) = 1;  // writes e₁
    teacher_mlp<Scalar, Backend> teacher(tw);

    student_config sc;
    sc.d_in = sc.d_out = s.d;
    sc.d_sae = 1;
    sc.act = activation::relu;
    sc.biases = false;
    sc.init = s.init;
    sc.decoder_norm = s.constraint;
    student_mlp<Scalar, Backend> student(sc, s.seed);

    train_settings ts;
    ts.batch_size = s.batch;
    ts.tokens = s.steps * s.batch;
    ts.loss.l1_coeff = 0;
    ts.adam.weight_decay = 0;
    ts.schedule = {s.lr, 0, s.steps, 1.0};
    ts.callback_every = 1;

    single_neuron_trace trace;
    trace.encoder_cosine.reserve(static_cast<std::size_t>(s.steps));
    trace.decoder_cosine.reserve(static_cast<std::size_t>(s.steps));
    struct recorder {
        single_neuron_trace& trace;
        matrix<Scalar> enc, dec;
        void on_step(const step_report<Scalar, Backend>& r) {
            backend::copy_to_host<Backend>(r.student.w_enc().data, enc.data(), enc.size());
            backend::copy_to_host<Backend>(r.student.w_dec().data, dec.data(), dec.size());
            const double enc_norm = enc.template cast<double>().norm(), dec_norm = dec.template cast<double>().norm();
            trace.encoder_cosine.push_back(enc_norm > 0 ? double(enc(0, 0)) / enc_norm : 0);
            trace.decoder_cosine.push_back(dec_norm > 0 ? double(dec(0, 1)) / dec_norm : 0);
            trace.decoder_norm.push_back(dec_norm);
            trace.loss.push_back(r.metrics.terms.loss);
        }
    } record{trace, matrix<Scalar>(1, s.d), matrix<Scalar>(1, s.d)};

    trainer<Scalar, Backend> train(student, teacher, ts);
    data::gaussian_source<Scalar> source(s.d, s.seed + 1);
    train.run(source, record);
    return trace;
}

}  // namespace sparse_distill::experiments
