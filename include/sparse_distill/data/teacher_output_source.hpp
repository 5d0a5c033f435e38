#pragma once
// The training data of an SAE on the teacher's outputs, the post's baseline: input = target = MLP(x)
// for x from an input source. Supplies its own targets, so the trainer needs no teacher for it.
#include "../nn/teacher.hpp"
#include "../tensor/matrix.hpp"

namespace sparse_distill::data {

template <class Source, class Scalar, class Backend = backend::cpu>
class teacher_output_source {
public:
    /// Both are borrowed and must outlive this source.
    teacher_output_source(Source& inputs, const teacher_mlp<Scalar, Backend>& teacher) : inputs_(inputs), teacher_(teacher) {}

    index_t dim() const { return teacher_.d_model(); }

    /// x = y = teacher(next inputs); false when the input source runs out.
    bool next_batch(matrix<Scalar>& x, matrix<Scalar>& y) {
        batch_.resize(x.rows(), teacher_.d_model());
        if (!inputs_.next_batch(batch_)) return false;
        y = teacher_.forward(batch_);
        x = y;
        return true;
    }

private:
    Source& inputs_;
    const teacher_mlp<Scalar, Backend>& teacher_;
    matrix<Scalar> batch_;
};

}  // namespace sparse_distill::data
