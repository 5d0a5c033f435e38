#pragma once
/// sparse_distill: distil a transformer MLP (the teacher) into a wider, sparsely activating student MLP
/// (a transcoder) trained on loss = mean_b ‖ŷ − y‖² + λ·L1(a), and analyse what it learned.
/// This umbrella includes every CPU-side module; the CUDA backend and the MPI and NCCL communicators are
/// opt-in and never included here.
#include "sparse_distill/config.hpp"
#include "sparse_distill/backend/cpu.hpp"
#include "sparse_distill/tensor.hpp"
#include "sparse_distill/random.hpp"
#include "sparse_distill/nn.hpp"
#include "sparse_distill/loss.hpp"
#include "sparse_distill/optim.hpp"
#include "sparse_distill/data.hpp"
#include "sparse_distill/comm.hpp"
#include "sparse_distill/train.hpp"
#include "sparse_distill/analysis.hpp"
#include "sparse_distill/io.hpp"
#include "sparse_distill/pipeline.hpp"
#include "sparse_distill/report.hpp"
#include "sparse_distill/lm.hpp"
