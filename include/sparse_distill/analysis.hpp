#pragma once
// Module umbrella: the analyses of the research post (feature types, similarities, frequencies,
// ablations, correlations, clusters) and feature recovery on planted data.
#include "analysis/activation_stats.hpp"
#include "analysis/analysis_json.hpp"
#include "analysis/cosine.hpp"
#include "analysis/eval_tokens.hpp"
#include "analysis/feature_recovery.hpp"
#include "analysis/feature_table.hpp"
#include "analysis/feature_types.hpp"
#include "analysis/l1_sweep.hpp"
#include "analysis/loss_recovered.hpp"
#include "analysis/match_consistency.hpp"
#include "analysis/reconstruction.hpp"
#include "analysis/similarity.hpp"
#include "analysis/simulator_clusters.hpp"
#include "analysis/simulator_correlation.hpp"
#include "analysis/student_analysis.hpp"
#include "analysis/top_activations.hpp"
