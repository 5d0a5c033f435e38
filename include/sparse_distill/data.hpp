#pragma once
// Module umbrella: data sources for training.
#include "data/gaussian_source.hpp"
#include "data/matrix_source.hpp"
