// The CPU backend's matrix products against a plain triple loop in double, for every transpose
// combination, alpha and beta, on 1 and 2 threads: thick products (Eigen's GEMM) and the thin ones that
// the backend splits over threads itself (outer products with a short inner dimension, and
// matrix–vector products with one output row or column).
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include <cmath>
#include <tuple>

namespace sd = sparse_distill;

namespace nn_cpu_products_test {

// c = alpha·op(a)·op(b) + beta·c0 in double, element by element.
sd::matrix<double> reference_product(const sd::matrix<float>& a, bool ta, const sd::matrix<float>& b, bool tb,
                                     const sd::matrix<float>& c0, double alpha, double beta) {
    const sd::index_t m = c0.rows(), n = c0.cols(), k = ta ? a.rows() : a.cols();
    sd::matrix<double> c(m, n);
    for (sd::index_t i = 0; i < m; ++i)
        for (sd::index_t j = 0; j < n; ++j) {
            double sum = 0;
            for (sd::index_t p = 0; p < k; ++p) sum += double(ta ? a(p, i) : a(i, p)) * double(tb ? b(j, p) : b(p, j));
            c(i, j) = alpha * sum + beta * double(c0(i, j));
        }
    return c;
}

sd::matrix<float> random_matrix(sd::index_t rows, sd::index_t cols, std::uint64_t stream) {
    sd::matrix<float> m(rows, cols);
    sd::random::fill_uniform(m, sd::random::counter_rng(3, stream), -1, 1);
    return m;
}

TEST_CASE("CPU products equal a double triple loop, thick and thin, every transpose, alpha and beta, 1 and 2 threads") {
    // {m, n, k}: an outer product (k = 1, k = 16), matrix–vector products (n = 1, m = 1), one at the thin
    // limit's edge (k = 17, Eigen's GEMM) and a thick one; sizes above the threading threshold.
    const std::tuple<sd::index_t, sd::index_t, sd::index_t> shapes[] = {
        {700, 300, 1}, {300, 500, 16}, {257, 300, 17}, {900, 1, 300}, {1, 900, 300}, {1, 1, 40000}, {130, 90, 70}};
    for (const int threads : {1, 2}) {
        sd::set_num_threads(threads);
        for (const auto& [m, n, k] : shapes)
            for (const bool ta : {false, true})
                for (const bool tb : {false, true})
                    for (const auto& [alpha, beta] : {std::pair{1.f, 0.f}, std::pair{-0.5f, 1.f}, std::pair{2.f, 0.25f}}) {
                        CAPTURE(threads);
                        CAPTURE(m);
                        CAPTURE(n);
                        CAPTURE(k);
                        CAPTURE(ta);
                        CAPTURE(tb);
                        CAPTURE(alpha);
                        CAPTURE(beta);
                        const sd::matrix<float> a = ta ? random_matrix(k, m, 1) : random_matrix(m, k, 1);
                        const sd::matrix<float> b = tb ? random_matrix(n, k, 2) : random_matrix(k, n, 2);
                        const sd::matrix<float> c0 = random_matrix(m, n, 3);
                        sd::matrix<float> c = c0;
                        sd::backend::matmul<sd::backend::cpu>(sd::matrix_view<const float>{a.data(), a.rows(), a.cols()}, ta,
                                                              sd::matrix_view<const float>{b.data(), b.rows(), b.cols()}, tb,
                                                              sd::matrix_view<float>{c.data(), m, n}, alpha, beta);
                        const sd::matrix<double> expected = reference_product(a, ta, b, tb, c0, alpha, beta);
                        // A float sum of k products of size ≤ 1 errs by at most ~k·ε (ε = 6e-8); a wrong
                        // block or a missed beta errs by O(1).
                        const double tolerance = 1.2e-7 * double(k) + 1e-6;
                        CHECK((c.cast<double>() - expected).cwiseAbs().maxCoeff() <= tolerance * std::max(1.0, double(std::abs(alpha))));
                    }
    }
    sd::set_num_threads(2);
}

TEST_CASE("a thin product with beta = 0 ignores NaN in its output, as Eigen's GEMM does") {
    const sd::matrix<float> a = random_matrix(600, 1, 4), b = random_matrix(1, 200, 5);
    sd::matrix<float> c = sd::matrix<float>::Constant(600, 200, std::nanf(""));
    sd::backend::matmul<sd::backend::cpu>(sd::matrix_view<const float>{a.data(), 600, 1}, false,
                                          sd::matrix_view<const float>{b.data(), 1, 200}, false,
                                          sd::matrix_view<float>{c.data(), 600, 200}, 1.f, 0.f);
    CHECK(c.allFinite());
    CHECK(c(599, 199) == doctest::Approx(a(599, 0) * b(0, 199)));
}

}  // namespace nn_cpu_products_test
