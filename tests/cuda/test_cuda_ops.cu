// Every op of backend::cuda against the same op of backend::cpu on random inputs, in float and double.
// Outputs that an op overwrites start as NaN, so an element it fails to write shows up.
#include "cuda_test_support.hpp"

#include <algorithm>
#include <limits>
#include <vector>

using namespace sd_cuda_test;
using cpu = sd::backend::cpu;

namespace {

template <class Scalar>
sd::matrix<Scalar> nan_matrix(index_t rows, index_t cols) {
    return sd::matrix<Scalar>::Constant(rows, cols, std::numeric_limits<Scalar>::quiet_NaN());
}

template <class Scalar, class Backend>
void check_matmul(double tolerance) {
    const index_t m = 37, k = 53, n = 29;
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
            for (const double beta : {0.0, 0.5}) {
                CAPTURE(ta);
                CAPTURE(tb);
                CAPTURE(beta);
                const sd::matrix<Scalar> a = ta ? random_matrix<Scalar>(k, m, 1) : random_matrix<Scalar>(m, k, 1);
                const sd::matrix<Scalar> b = tb ? random_matrix<Scalar>(n, k, 2) : random_matrix<Scalar>(k, n, 2);
                sd::matrix<Scalar> c = beta == 0 ? nan_matrix<Scalar>(m, n) : random_matrix<Scalar>(m, n, 3);
                device_matrix<Scalar, Backend> da(a), db(b), dc(c);
                sd::backend::matmul<cpu>(sd::view(a), ta, sd::view(b), tb, sd::view(c), Scalar(2), Scalar(beta));
                sd::backend::matmul<Backend>(da.view(), ta, db.view(), tb, dc.view(), Scalar(2), Scalar(beta));
                const double error = relative_error(dc.host(), c);
                MESSAGE(std::string(Backend::name) << " matmul error " << error);
                CHECK(error < tolerance);
            }
}

}  // namespace

TEST_CASE_TEMPLATE("cuda: matmul agrees with the CPU for every transpose and beta", Scalar, float, double) {
    check_matmul<Scalar, sd::backend::cuda>(agreement<Scalar>());
}

TEST_CASE("cuda: tf32 and bf16 products stay within their documented tolerances") {
    check_matmul<float, sd::backend::cuda_tf32>(2e-3);
    check_matmul<float, sd::backend::cuda_bf16>(1.5e-2);
    // The precision only applies to float: double products stay fp64.
    check_matmul<double, sd::backend::cuda_bf16>(1e-12);
}

TEST_CASE("cuda: matmul refuses shapes that do not agree") {
    device_matrix<float> a(3, 4), b(5, 6), c(3, 6);
    CHECK_THROWS_AS(sd::backend::matmul<sd::backend::cuda>(a.view(), false, b.view(), false, c.view()), std::invalid_argument);
}

TEST_CASE_TEMPLATE("cuda: column_sums agrees with the CPU, split or not", Scalar, float, double) {
    for (const auto& [rows, cols] : std::vector<std::pair<index_t, index_t>>{{1, 3}, {5, 70}, {1000, 33}, {4097, 2000}}) {
        CAPTURE(rows);
        CAPTURE(cols);
        const sd::matrix<Scalar> m = random_matrix<Scalar>(rows, cols, 4);
        sd::matrix<Scalar> out = random_matrix<Scalar>(1, cols, 5);
        device_matrix<Scalar> dm(m), dout(out);
        sd::backend::column_sums<cpu>(sd::view(m), sd::vector_view<Scalar>{out.data(), cols}, Scalar(-1), Scalar(1));
        sd::backend::column_sums<sd::backend::cuda>(dm.view(), dout.vector(), Scalar(-1), Scalar(1));
        CHECK(relative_error(dout.host(), out) < agreement<Scalar>());
        // beta = 0 overwrites, even NaN.
        sd::matrix<Scalar> fresh = nan_matrix<Scalar>(1, cols);
        device_matrix<Scalar> dfresh(fresh);
        sd::backend::column_sums<cpu>(sd::view(m), sd::vector_view<Scalar>{fresh.data(), cols});
        sd::backend::column_sums<sd::backend::cuda>(dm.view(), dfresh.vector());
        CHECK(relative_error(dfresh.host(), fresh) < agreement<Scalar>());
    }
}

TEST_CASE_TEMPLATE("cuda: row-vector broadcasts and the elementwise product agree with the CPU", Scalar, float, double) {
    using gpu = sd::backend::cuda;
    const sd::matrix<Scalar> x = random_matrix<Scalar>(67, 45, 6), b = random_matrix<Scalar>(1, 45, 7), o = random_matrix<Scalar>(67, 45, 8);
    device_matrix<Scalar> dx(x), db(b), dout(nan_matrix<Scalar>(67, 45)), dother(o);
    sd::matrix<Scalar> out(67, 45);
    sd::backend::subtract_row_vector<cpu>(sd::view(x), sd::vector_view<const Scalar>{b.data(), 45}, sd::view(out));
    sd::backend::subtract_row_vector<gpu>(dx.view(), db.vector(), dout.view());
    CHECK(relative_error(dout.host(), out) == 0);
    sd::backend::add_row_vector<cpu>(sd::view(out), sd::vector_view<const Scalar>{b.data(), 45});
    sd::backend::add_row_vector<gpu>(dout.view(), db.vector());
    CHECK(relative_error(dout.host(), out) == 0);
    sd::backend::add_row_vector<gpu>(dout.view(), sd::vector_view<const Scalar>{});  // an absent bias: no change
    CHECK(relative_error(dout.host(), out) == 0);
    sd::backend::multiply_elementwise<cpu>(sd::view(out), sd::view(o));
    sd::backend::multiply_elementwise<gpu>(dout.view(), dother.view());
    CHECK(relative_error(dout.host(), out) == 0);
}

TEST_CASE_TEMPLATE("cuda: bias_activate and activation_backward agree with the CPU for every activation", Scalar, float, double) {
    using gpu = sd::backend::cuda;
    for (const sd::activation act : {sd::activation::relu, sd::activation::gelu, sd::activation::gelu_tanh, sd::activation::silu})
        for (const bool with_bias : {true, false}) {
            CAPTURE(sd::to_string(act));
            CAPTURE(with_bias);
            const index_t rows = 129, cols = 301;
            sd::matrix<Scalar> z = random_matrix<Scalar>(rows, cols, 9, 2.0);
            const sd::matrix<Scalar> bias = random_matrix<Scalar>(1, cols, 10);
            sd::matrix<Scalar> a(rows, cols);
            device_matrix<Scalar> dz(z), dbias(bias), da(nan_matrix<Scalar>(rows, cols));
            const sd::vector_view<const Scalar> cpu_bias = with_bias ? sd::vector_view<const Scalar>{bias.data(), cols}
                                                                      : sd::vector_view<const Scalar>{};
            const sd::vector_view<const Scalar> gpu_bias = with_bias ? sd::vector_view<const Scalar>(dbias.vector())
                                                                      : sd::vector_view<const Scalar>{};
            const auto cpu_sums = sd::backend::bias_activate<cpu>(sd::view(z), cpu_bias, act, sd::view(a));
            const auto gpu_sums = sd::backend::bias_activate<gpu>(dz.view(), gpu_bias, act, da.view());
            CHECK(relative_error(dz.host(), z) == 0);
            CHECK(relative_error(da.host(), a) < agreement<Scalar>());
            CHECK(gpu_sums.abs_sum == doctest::Approx(cpu_sums.abs_sum).epsilon(agreement<Scalar>()));
            CHECK(gpu_sums.positive_count == cpu_sums.positive_count);

            sd::matrix<Scalar> grad = random_matrix<Scalar>(rows, cols, 11);
            device_matrix<Scalar> dgrad(grad);
            sd::backend::activation_backward<cpu>(sd::view(grad), sd::view(z), sd::view(a), act, Scalar(0.03));
            sd::backend::activation_backward<gpu>(dgrad.view(), dz.view(), da.view(), act, Scalar(0.03));
            CHECK(relative_error(dgrad.host(), grad) < agreement<Scalar>());
        }
}

TEST_CASE_TEMPLATE("cuda: squared_error_gradient agrees with the CPU", Scalar, float, double) {
    const sd::matrix<Scalar> p = random_matrix<Scalar>(300, 77, 12), t = random_matrix<Scalar>(300, 77, 13);
    sd::matrix<Scalar> g(300, 77);
    device_matrix<Scalar> dp(p), dt(t), dg(nan_matrix<Scalar>(300, 77));
    const double cpu_sum = sd::backend::squared_error_gradient<cpu>(sd::view(p), sd::view(t), sd::view(g), Scalar(0.25));
    const double gpu_sum = sd::backend::squared_error_gradient<sd::backend::cuda>(dp.view(), dt.view(), dg.view(), Scalar(0.25));
    CHECK(gpu_sum == doctest::Approx(cpu_sum).epsilon(1e-12));
    CHECK(relative_error(dg.host(), g) == 0);
}

TEST_CASE_TEMPLATE("cuda: Adam with the fused decoder constraint agrees with the CPU over several steps", Scalar, float, double) {
    using gpu = sd::backend::cuda;
    const index_t n = 5000;
    for (const sd::decoder_norm mode : {sd::decoder_norm::none, sd::decoder_norm::cap, sd::decoder_norm::unit})
        for (const bool decoupled : {true, false}) {
            CAPTURE(int(mode));
            CAPTURE(decoupled);
            sd::matrix<Scalar> params = random_matrix<Scalar>(1, n, 14), m = sd::matrix<Scalar>::Zero(1, n), v = m;
            params.block(0, 1000, 1, 64).setZero();  // a zero decoder row: `unit` must leave it zero
            device_matrix<Scalar> dparams(params), dm(m), dv(v), dgrads(1, n);
            sd::optim::adam_update_args args;
            args.weight_decay = 0.01;
            args.decoupled = decoupled;
            args.constrain = {1000, 50, 64, mode};  // rows 1000 … 4199 of the buffer, 64 wide
            for (int step = 1; step <= 4; ++step) {
                const sd::matrix<Scalar> grads = random_matrix<Scalar>(1, n, 100 + step);
                dgrads = device_matrix<Scalar>(grads);
                args.step = step;
                args.lr = 1e-2 / step;
                sd::backend::adam_update<cpu>(params.data(), grads.data(), m.data(), v.data(), n, args);
                sd::backend::adam_update<gpu>(dparams.buffer.data(), dgrads.buffer.data(), dm.buffer.data(), dv.buffer.data(), n, args);
            }
            CHECK(relative_error(dparams.host(), params) < 10 * agreement<Scalar>());
            CHECK(relative_error(dm.host(), m) < 10 * agreement<Scalar>());
            CHECK(relative_error(dv.host(), v) < 10 * agreement<Scalar>());
        }
    sd::optim::adam_update_args outside;
    outside.constrain = {4990, 2, 64, sd::decoder_norm::cap};
    device_matrix<Scalar> p(1, n), g(1, n), m(1, n), v(1, n);
    CHECK_THROWS_AS(sd::backend::adam_update<gpu>(p.buffer.data(), g.buffer.data(), m.buffer.data(), v.buffer.data(), n, outside),
                    std::invalid_argument);
}

TEST_CASE_TEMPLATE("cuda: constrain_rows agrees with the CPU", Scalar, float, double) {
    for (const sd::decoder_norm mode : {sd::decoder_norm::cap, sd::decoder_norm::unit}) {
        sd::matrix<Scalar> w = random_matrix<Scalar>(300, 700, 15, 0.06);  // row norms on both sides of 1
        w.row(3).setZero();
        device_matrix<Scalar> dw(w);
        sd::backend::constrain_rows<cpu>(sd::view(w), mode);
        sd::backend::constrain_rows<sd::backend::cuda>(dw.view(), mode);
        CHECK(relative_error(dw.host(), w) < agreement<Scalar>());
    }
}

TEST_CASE_TEMPLATE("cuda: the sparse path agrees with the CPU's (pattern, decoder, gradients, biases)", Scalar, float, double) {
    using gpu = sd::backend::cuda;
    const index_t rows = 300, h = 1500, d_in = 70, d_out = 90;
    // ReLU of shifted normals: about 2% active, with a few rows fully inactive.
    sd::matrix<Scalar> a = (random_matrix<Scalar>(rows, h, 16).array() - Scalar(2.05)).cwiseMax(Scalar(0)).matrix();
    a.row(7).setZero();
    const sd::matrix<Scalar> dy = random_matrix<Scalar>(rows, d_out, 17), w_dec = random_matrix<Scalar>(h, d_out, 18);
    const sd::matrix<Scalar> x = random_matrix<Scalar>(rows, d_in, 19), w_enc = random_matrix<Scalar>(h, d_in, 20);
    device_matrix<Scalar> da(a), ddy(dy), dw_dec(w_dec), dx(x), dw_enc(w_enc);

    cpu::sparse_pattern cp;
    gpu::sparse_pattern gp;
    sd::backend::collect_active<cpu, Scalar>(sd::view(a), cp);
    sd::backend::collect_active<gpu, Scalar>(da.view(), gp);
    REQUIRE(gp.nnz() == cp.nnz());
    MESSAGE("active pairs: " << cp.nnz() << " of " << rows * h);
    std::vector<int> row_start(rows + 1), feature(cp.nnz()), feature_start(h + 1);
    sd::backend::copy_to_host<sd::backend::cuda>(gp.row_start.data(), row_start.data(), rows + 1);
    sd::backend::copy_to_host<sd::backend::cuda>(gp.feature.data(), feature.data(), cp.nnz());
    sd::backend::copy_to_host<sd::backend::cuda>(gp.feature_start.data(), feature_start.data(), h + 1);
    const auto same = [](const std::vector<int>& ours, const std::vector<index_t>& reference) {
        return std::equal(ours.begin(), ours.end(), reference.begin(), reference.end(),
                          [](int a, index_t b) { return index_t(a) == b; });
    };
    CHECK(same(row_start, cp.row_start));
    CHECK(same(feature, cp.feature));
    CHECK(same(feature_start, cp.feature_start));

    sd::matrix<Scalar> y(rows, d_out);
    device_matrix<Scalar> dy_out(nan_matrix<Scalar>(rows, d_out));
    sd::backend::sparse_decode<cpu>(sd::view(a), cp, sd::view(w_dec), sd::view(y));
    sd::backend::sparse_decode<gpu>(da.view(), gp, dw_dec.view(), dy_out.view());
    CHECK(relative_error(dy_out.host(), y) < agreement<Scalar>());

    sd::matrix<Scalar> g_dec(h, d_out), g_enc(h, d_in);
    device_matrix<Scalar> dg_dec(nan_matrix<Scalar>(h, d_out)), dg_enc(nan_matrix<Scalar>(h, d_in));
    sd::backend::sparse_backward<cpu>(sd::view(a), cp, sd::view(dy), sd::view(w_dec), sd::view(x), Scalar(0.01), sd::view(g_dec), sd::view(g_enc));
    sd::backend::sparse_backward<gpu>(da.view(), gp, ddy.view(), dw_dec.view(), dx.view(), Scalar(0.01), dg_dec.view(), dg_enc.view());
    CHECK(relative_error(dg_dec.host(), g_dec) < agreement<Scalar>());
    CHECK(relative_error(dg_enc.host(), g_enc) < agreement<Scalar>());

    for (const bool accumulate : {false, true}) {
        sd::matrix<Scalar> b_enc_grad(1, h), pre = random_matrix<Scalar>(1, d_in, 21);
        device_matrix<Scalar> db_enc(nan_matrix<Scalar>(1, h)), dpre(pre);
        sd::backend::sparse_bias_gradients<cpu>(cp, sd::view(w_enc), sd::vector_view<Scalar>{b_enc_grad.data(), h},
                                   sd::vector_view<Scalar>{pre.data(), d_in}, accumulate);
        sd::backend::sparse_bias_gradients<gpu>(gp, dw_enc.view(), db_enc.vector(), dpre.vector(), accumulate);
        CHECK(relative_error(db_enc.host(), b_enc_grad) < agreement<Scalar>());
        CHECK(relative_error(dpre.host(), pre) < agreement<Scalar>());
    }
}
