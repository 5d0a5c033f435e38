#pragma once
// Module umbrella: communicators for data-parallel training (the default, one process, and a rank's
// rows of a batch). comm::mpi (comm/mpi.hpp) and comm::nccl (comm/nccl.cuh) are opt-in: a program
// includes them itself and links MPI or NCCL.
#include "comm/policy.hpp"
#include "comm/single.hpp"
#include "comm/rank_rows.hpp"
