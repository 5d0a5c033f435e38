#pragma once
// Module umbrella: tensors in file form, .npy and safetensors readers and writers, model files.
#include "io/error.hpp"
#include "io/model_files.hpp"
#include "io/npy.hpp"
#include "io/safetensors.hpp"
#include "io/tensor_data.hpp"
