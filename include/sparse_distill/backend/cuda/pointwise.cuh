#pragma once
// Elementwise passes over row-major [rows, cols] matrices: the row-vector broadcasts and the gate
// product of a SwiGLU teacher. Grid-stride loops; the column of element i is tracked incrementally
// (cuda_column_walk).
#include "../../tensor/view.hpp"
#include "tag.cuh"
#include "reduce.cuh"

#include <stdexcept>

namespace sparse_distill::backend::cuda_system {

template <class Scalar>
__global__ void cuda_subtract_row_vector_kernel(const Scalar* x, const Scalar* b, Scalar* out, long long n, long long cols) {
    const long long first = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    cuda_column_walk c(first, stride, cols);
    for (long long i = first; i < n; i += stride, c.advance()) out[i] = x[i] - b[c.column];
}

template <class Scalar>
__global__ void cuda_add_row_vector_kernel(Scalar* m, const Scalar* b, long long n, long long cols) {
    const long long first = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    cuda_column_walk c(first, stride, cols);
    for (long long i = first; i < n; i += stride, c.advance()) m[i] += b[c.column];
}

template <class Scalar>
__global__ void cuda_multiply_elementwise_kernel(Scalar* m, const Scalar* other, long long n) {
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        m[i] *= other[i];
}

template <class Scalar>
__global__ void cuda_add_elementwise_kernel(Scalar* m, const Scalar* other, long long n) {
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        m[i] += other[i];
}

template <class Scalar>
void subtract_row_vector(tag, matrix_view<const Scalar> x, vector_view<const Scalar> b, matrix_view<Scalar> out) {
    if (x.size() == 0) return;
    cuda_subtract_row_vector_kernel<Scalar><<<cuda_grid_for(x.size()), cuda_block, 0, cuda_context::get().stream()>>>(
        x.data, b.data, out.data, x.size(), x.cols);
    cuda_check_launch("subtract_row_vector");
}

template <class Scalar>
void add_row_vector(tag, matrix_view<Scalar> m, vector_view<const Scalar> b) {
    if (b.empty() || m.size() == 0) return;
    cuda_add_row_vector_kernel<Scalar><<<cuda_grid_for(m.size()), cuda_block, 0, cuda_context::get().stream()>>>(
        m.data, b.data, m.size(), m.cols);
    cuda_check_launch("add_row_vector");
}

template <class Scalar>
void multiply_elementwise(tag, matrix_view<Scalar> m, matrix_view<const Scalar> other) {
    if (m.size() == 0) return;
    cuda_multiply_elementwise_kernel<Scalar><<<cuda_grid_for(m.size()), cuda_block, 0, cuda_context::get().stream()>>>(
        m.data, other.data, m.size());
    cuda_check_launch("multiply_elementwise");
}

template <class Scalar>
void add_elementwise(tag, matrix_view<Scalar> m, matrix_view<const Scalar> other) {
    if (m.size() == 0) return;
    cuda_add_elementwise_kernel<Scalar><<<cuda_grid_for(m.size()), cuda_block, 0, cuda_context::get().stream()>>>(
        m.data, other.data, m.size());
    cuda_check_launch("add_elementwise");
}

}  // namespace sparse_distill::backend::cuda_system
