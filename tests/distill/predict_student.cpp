// predict_student STUDENT INPUTS.npy OUT.npy
//
// Writes the student's outputs ŷ on the rows of INPUTS.npy (float64 [N, d_in]) to OUT.npy (float64
// [N, d_out]), in double, through the library's reader (any folder read_student accepts) and
// student_mlp::predict (a BatchTopK student with its stored τ). The export checks compare what an
// independent reader of each exported format computes against this.
#include <sparse_distill.hpp>

#include <cstdio>
#include <exception>

namespace sd = sparse_distill;

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: predict_student STUDENT INPUTS.npy OUT.npy\n");
        return 2;
    }
    try {
        const auto stored = sd::io::read_student<double>(argv[1]);
        sd::student_mlp<double> student(stored.config, stored.weights);
        student.set_batch_threshold(stored.batch_threshold);
        const sd::matrix<double> x = sd::io::to_matrix<double>(sd::io::read_npy(argv[2]), argv[2]);
        sd::io::write_npy(argv[3], sd::io::from_matrix<double>(student.predict(x)));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "predict_student: %s\n", e.what());
        return 1;
    }
    return 0;
}
