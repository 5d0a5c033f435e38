#pragma once
// Module umbrella: whole text files, tensors in file form, .npy (whole or streamed by rows) and safetensors readers and writers, model files,
// student export/import (SAELens, sparsify), teacher import from transformer_lens / GPT-2 / GPT-Neo / Llama checkpoints.
#include "io/checksum.hpp"
#include "io/error.hpp"
#include "io/file_pattern.hpp"
#include "io/model_files.hpp"
#include "io/npy.hpp"
#include "io/npy_reader.hpp"
#include "io/safetensors.hpp"
#include "io/student_export.hpp"
#include "io/transcoder_set.hpp"
#include "io/teacher_import.hpp"
#include "io/tensor_data.hpp"
#include "io/text_file.hpp"
