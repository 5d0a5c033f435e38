#pragma once
// Module umbrella: data sources for training.
#include "data/gaussian_source.hpp"
#include "data/matrix_source.hpp"
#include "data/paired_source.hpp"
#include "data/planted_features.hpp"
#include "data/sharded_npy_source.hpp"
#include "data/teacher_output_source.hpp"
