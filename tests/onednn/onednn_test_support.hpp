#pragma once
// Helpers of the oneDNN policies' suite: random host matrices and one product through a backend's front-end.
#include <sparse_distill.hpp>

#include <cstdint>

namespace onednn_test {

namespace sd = sparse_distill;

template <class Scalar>
sd::matrix<Scalar> random_matrix(sd::index_t rows, sd::index_t cols, std::uint64_t stream, double scale = 1) {
    sd::matrix<Scalar> m(rows, cols);
    sd::random::fill_uniform(m, sd::random::counter_rng(9, stream), -scale, scale);
    return m;
}

/// c0 + the product, as backend::matmul<Backend> computes c = alpha·op(a)·op(b) + beta·c.
template <class Scalar, class Backend>
sd::matrix<Scalar> product(const sd::matrix<Scalar>& a, bool ta, const sd::matrix<Scalar>& b, bool tb, const sd::matrix<Scalar>& c0,
                           Scalar alpha, Scalar beta) {
    sd::matrix<Scalar> c = c0;
    sd::backend::matmul<Backend>(sd::matrix_view<const Scalar>{a.data(), a.rows(), a.cols()}, ta,
                                 sd::matrix_view<const Scalar>{b.data(), b.rows(), b.cols()}, tb,
                                 sd::matrix_view<Scalar>{c.data(), c.rows(), c.cols()}, alpha, beta);
    return c;
}

}  // namespace onednn_test
