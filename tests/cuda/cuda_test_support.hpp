#pragma once
// Helpers of the CUDA suite: random host matrices, uploads and downloads, and the relative error
// ‖ours − reference‖ / ‖reference‖ (support/backend_agreement.hpp) that every CPU-vs-CUDA comparison prints and checks.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <sparse_distill/backend/cuda.hpp>

#include "support/backend_agreement.hpp"

#include <cstdint>
#include <type_traits>

namespace sd_cuda_test {

namespace sd = sparse_distill;
using sd::index_t;

template <class Scalar>
sd::matrix<Scalar> random_matrix(index_t rows, index_t cols, std::uint64_t seed, double scale = 1.0) {
    sd::matrix<Scalar> m(rows, cols);
    sd::random::fill_normal(m, sd::random::counter_rng(seed, 7));
    m *= Scalar(scale);
    return m;
}

/// A device copy of a host matrix, with a view of it.
template <class Scalar, class Backend = sd::backend::cuda>
struct device_matrix {
    typename Backend::template buffer<Scalar> buffer;
    index_t rows = 0, cols = 0;

    device_matrix(index_t r, index_t c) : buffer(r * c), rows(r), cols(c) {}
    explicit device_matrix(const sd::matrix<Scalar>& host) : device_matrix(host.rows(), host.cols()) {
        sd::backend::copy_from_host<Backend>(host.data(), buffer.data(), host.size());
    }
    sd::matrix_view<Scalar> view() { return {buffer.data(), rows, cols}; }
    sd::vector_view<Scalar> vector() { return {buffer.data(), rows * cols}; }
    sd::matrix<Scalar> host() const {
        sd::matrix<Scalar> m(rows, cols);
        sd::backend::copy_to_host<Backend>(buffer.data(), m.data(), m.size());
        return m;
    }
};

using sd_backend_agreement::relative_error;

/// What fp32 on both sides agrees to after a few reorderings of the same sums.
template <class Scalar>
constexpr double agreement() {
    return std::is_same_v<Scalar, double> ? 1e-12 : 2e-6;
}

}  // namespace sd_cuda_test
