#pragma once
// Module umbrella: analyses of a trained student.
#include "analysis/cosine.hpp"
