#pragma once
// CPU row-vector and elementwise passes over [batch, width] matrices. Twin: cuda/pointwise.cuh.
// Shapes are checked by the front-end (backend/ops.hpp).
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "parallel.hpp"
#include "tag.hpp"

namespace sparse_distill::backend::cpu_system {

/// out = x − b (row-wise). Used for the student's input pre-bias.
template <class Scalar>
void subtract_row_vector(tag, matrix_view<const Scalar> x, vector_view<const Scalar> b, matrix_view<Scalar> out) {
    // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (worth_threads(x.size()))
    for (index_t r = 0; r < x.rows; ++r)
        for (index_t c = 0; c < x.cols; ++c) out.data[r * x.cols + c] = x.data[r * x.cols + c] - b.data[c];
}

/// m += b (row-wise); an empty b is a no-op (a model without that bias).
template <class Scalar>
void add_row_vector(tag, matrix_view<Scalar> m, vector_view<const Scalar> b) {
    // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (worth_threads(m.size()))
    for (index_t r = 0; r < m.rows; ++r)
        for (index_t c = 0; c < m.cols; ++c) m.data[r * m.cols + c] += b.data[c];
}

/// m ⊙= other (elementwise product, in place): the gate of a SwiGLU MLP.
template <class Scalar>
void multiply_elementwise(tag, matrix_view<Scalar> m, matrix_view<const Scalar> other) {
    // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (worth_threads(m.size()))
    for (index_t r = 0; r < m.rows; ++r)
        for (index_t c = 0; c < m.cols; ++c) m.data[r * m.cols + c] *= other.data[r * m.cols + c];
}

/// m += other (elementwise, in place).
template <class Scalar>
void add_elementwise(tag, matrix_view<Scalar> m, matrix_view<const Scalar> other) {
    // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (worth_threads(m.size()))
    for (index_t r = 0; r < m.rows; ++r)
        for (index_t c = 0; c < m.cols; ++c) m.data[r * m.cols + c] += other.data[r * m.cols + c];
}

}  // namespace sparse_distill::backend::cpu_system
