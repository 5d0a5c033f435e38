#pragma once
// Owning contiguous host storage: the CPU policy's `buffer`. A device policy supplies a twin with
// the same members (resize, data, size, set_zero), so models hold `Backend::buffer<Scalar>`.
#include "../../tensor/matrix.hpp"

#include <algorithm>
#include <vector>

namespace sparse_distill::backend::cpu_system {

template <class Scalar>
class host_buffer {
public:
    host_buffer() = default;
    explicit host_buffer(index_t n) : values_(static_cast<std::size_t>(n), Scalar(0)) {}

    /// Resizes to n elements, all zero.
    void resize(index_t n) { values_.assign(static_cast<std::size_t>(n), Scalar(0)); }
    void set_zero() { std::fill(values_.begin(), values_.end(), Scalar(0)); }
    Scalar* data() { return values_.data(); }
    const Scalar* data() const { return values_.data(); }
    index_t size() const { return static_cast<index_t>(values_.size()); }

private:
    std::vector<Scalar> values_;
};

}  // namespace sparse_distill::backend::cpu_system
