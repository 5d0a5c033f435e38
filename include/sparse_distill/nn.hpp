#pragma once
// Module umbrella: activations, teacher and student MLPs.
#include "nn/activation.hpp"
#include "nn/decoder_norm.hpp"
#include "nn/mlp_weights.hpp"
#include "nn/teacher.hpp"
#include "nn/teacher_gradient.hpp"
#include "nn/student_config.hpp"
#include "nn/student_weights.hpp"
#include "nn/student.hpp"
