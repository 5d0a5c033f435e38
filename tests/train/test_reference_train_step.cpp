// The train_step reference (reference_train_step.hpp) on the CPU backend.
#include "reference_train_step.hpp"

TEST_CASE_TEMPLATE("reference train_step (needs shared/data): 3 steps match PyTorch tensor by tensor", Scalar, float, double) {
    sd_test::check_reference_train_step<Scalar, sparse_distill::backend::cpu>(std::is_same_v<Scalar, double> ? 1e-9 : 1e-4);
}
