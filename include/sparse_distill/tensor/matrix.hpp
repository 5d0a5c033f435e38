#pragma once
// Host tensors: Eigen row-major matrices, one token per row. Every public function that takes or
// returns data on the host uses these types, whatever backend computes with it.
#include <Eigen/Core>

#include <cstddef>
#include <cstdint>

namespace sparse_distill {

using index_t = Eigen::Index;

/// Row-major dynamic matrix: rows are tokens (or features), columns are dimensions.
template <class Scalar>
using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Dynamic column vector (biases, per-feature statistics).
template <class Scalar>
using vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

template <class Scalar>
using matrix_map = Eigen::Map<matrix<Scalar>>;
template <class Scalar>
using const_matrix_map = Eigen::Map<const matrix<Scalar>>;
template <class Scalar>
using vector_map = Eigen::Map<vector<Scalar>>;
template <class Scalar>
using const_vector_map = Eigen::Map<const vector<Scalar>>;

}  // namespace sparse_distill
