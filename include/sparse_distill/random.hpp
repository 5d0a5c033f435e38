#pragma once
// Module umbrella: counter-based random numbers.
#include "random/philox.hpp"
#include "random/fill.hpp"
