// The sparse-architecture references (reference_train_step_variants.hpp) on the CPU backend, on the
// dense path and on the sparse path.
#include "reference_train_step_variants.hpp"

TEST_CASE_TEMPLATE("reference train_step_variants (needs shared/data): TopK, AuxK, BatchTopK, JumpReLU and skip match "
                   "PyTorch for 3 steps, dense and sparse paths",
                   Scalar, float, double) {
    const double tolerance = std::is_same_v<Scalar, double> ? 1e-9 : 1e-4;
    for (const char* variant : sd_test::reference_variants)
        for (const double sparse_below_density : {0.0, 1.0}) {
            CAPTURE(sparse_below_density);
            sd_test::check_reference_variant<Scalar, sparse_distill::backend::cpu>(variant, tolerance, sparse_below_density);
        }
}
