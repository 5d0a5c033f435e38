#pragma once
// Non-owning views of contiguous row-major data. Backend operations take views, never Eigen
// objects, so the same call works on host memory (backend::cpu) and device memory (a CUDA policy).
#include "matrix.hpp"

#include <type_traits>

namespace sparse_distill {

/// rows × cols, row-major, contiguous (leading dimension = cols). `Scalar` may be const.
template <class Scalar>
struct matrix_view {
    Scalar* data = nullptr;
    index_t rows = 0;
    index_t cols = 0;

    index_t size() const { return rows * cols; }
    /// A view of rows [first, first + count).
    matrix_view row_block(index_t first, index_t count) const { return {data + first * cols, count, cols}; }
    operator matrix_view<const Scalar>() const requires(!std::is_const_v<Scalar>) { return {data, rows, cols}; }
};

/// A contiguous vector; size 0 stands for "absent" (a student without biases).
template <class Scalar>
struct vector_view {
    Scalar* data = nullptr;
    index_t size = 0;

    bool empty() const { return size == 0; }
    operator vector_view<const Scalar>() const requires(!std::is_const_v<Scalar>) { return {data, size}; }
};

/// Read-only operands of backend operations. `type_identity` keeps them out of template argument
/// deduction, so Scalar is deduced from the output view and a mutable view converts implicitly.
template <class Scalar>
using in_matrix = std::type_identity_t<matrix_view<const Scalar>>;
template <class Scalar>
using in_vector = std::type_identity_t<vector_view<const Scalar>>;

/// Views of host Eigen objects (backend::cpu only: a device backend never sees host pointers).
template <class Scalar>
matrix_view<Scalar> view(matrix<Scalar>& m) { return {m.data(), m.rows(), m.cols()}; }
template <class Scalar>
matrix_view<const Scalar> view(const matrix<Scalar>& m) { return {m.data(), m.rows(), m.cols()}; }
template <class Scalar>
vector_view<Scalar> view(vector<Scalar>& v) { return {v.data(), v.size()}; }
template <class Scalar>
vector_view<const Scalar> view(const vector<Scalar>& v) { return {v.data(), v.size()}; }

}  // namespace sparse_distill
