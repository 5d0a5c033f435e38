#pragma once
// The error that stops a run when a batch or its loss is not finite. Training stops before the update,
// so the weights, the optimizer and the last checkpoint written all still hold finite values.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace sparse_distill {

/// Thrown by the trainer when a NaN or ±Inf appears in a batch's inputs, its targets (from the
/// source or the teacher) or its loss. what() reads "step S: <field>: <problem>", naming the data
/// row (file and row when the source can describe its rows) or saying that the student diverged.
struct numerical_fault : std::runtime_error {
    numerical_fault(std::int64_t step_number, std::string field_name, const std::string& problem)
        : std::runtime_error("step " + std::to_string(step_number) + ": " + field_name + ": " + problem),
          step(step_number),
          field(std::move(field_name)) {}

    std::int64_t step;  ///< the 1-based number of the update that was not made
    std::string field;  ///< "inputs", "targets", "teacher outputs", "loss", or the checkpoint's tensor
};

}  // namespace sparse_distill
