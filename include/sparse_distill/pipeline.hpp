#pragma once
// Module umbrella: one model distilled start to finish (build → train → analyse).
#include "pipeline/distill.hpp"
