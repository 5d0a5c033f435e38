#pragma once
// Module umbrella: tensors in file form, .npy and safetensors readers and writers.
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/npy.hpp"
#include "sparse_distill/io/safetensors.hpp"
#include "sparse_distill/io/tensor_data.hpp"
