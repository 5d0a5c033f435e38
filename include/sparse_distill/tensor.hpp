#pragma once
// Module umbrella: host tensors and backend-neutral views.
#include "tensor/matrix.hpp"
#include "tensor/view.hpp"
