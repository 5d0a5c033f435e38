#pragma once
// Module umbrella: Adam(W) and the learning-rate schedule.
#include "optim/adam_update_args.hpp"
#include "optim/adam.hpp"
#include "optim/schedule.hpp"
