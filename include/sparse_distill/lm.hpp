#pragma once
// Module umbrella: llama2.c language models on the CPU (checkpoint and tokenizer readers, a batched
// forward pass with MLP hooks, text windows), to harvest MLP activations and to measure the
// language-model loss with an MLP replaced; and Hugging Face tokenizer.json tokenizers.
#include "lm/llama_checkpoint.hpp"
#include "lm/text_windows.hpp"
#include "lm/tokenizer.hpp"
#include "lm/hf_tokenizer.hpp"
#include "lm/decoder.hpp"
#include "lm/hf_model.hpp"
#include "lm/transformer.hpp"
#include "lm/harvest.hpp"
#include "lm/harvest_shards.hpp"
#include "lm/top_examples.hpp"
