#!/usr/bin/env bash
# The roofline of a sparse training step (ReLU student at L0 ≈ 64, teacher live) for configs b and c:
# each part's measured time (bench_parts, best of ROUNDS repetitions), its lower bound — the larger of its
# arithmetic at the machine's sgemm rate and its unavoidable memory traffic at the machine's memory
# bandwidth, both measured in this same run — and the share of the bound the part reaches. The last rows
# put the whole step (bench_train_step's train_step_l0_64, best of ROUNDS) against the sum of its parts'
# bounds and against the sum of the parts' own times.
#
#   benchmarks/roofline.sh                  ROUNDS=3 BUILD=build THREADS=2 (defaults)
#
# The rates: sgemm is Eigen's row-major product on the config's encoder shape (sgemm/eigen/config_*_encoder),
# bandwidth is STREAM's triad over 3 × 128 MB (memory/triad). A part below the cache sizes may beat the
# bandwidth bound (share above 100%): the bound assumes every byte comes from memory.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
for target in bench_parts bench_train_step; do
  if [ ! -x "$build/benchmarks/$target" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSD_BUILD_BENCHMARKS=ON >&2
    cmake --build "$build" --target "$target" --parallel "$(nproc)" >&2
  fi
done

parts_json=$(mktemp) step_json=$(mktemp)
trap 'rm -f "$parts_json" "$step_json"' EXIT
OMP_NUM_THREADS=$threads "$build/benchmarks/bench_parts" --benchmark_repetitions="$rounds" --benchmark_format=json \
  --benchmark_filter='^(parts/config_[bc]/|sgemm/eigen/config_[bc]_encoder|memory/triad)' >"$parts_json" 2>/dev/null
OMP_NUM_THREADS=$threads "$build/benchmarks/bench_train_step" --benchmark_repetitions="$rounds" --benchmark_format=json \
  --benchmark_filter='^train_step_l0_64/config_[bc]$' >"$step_json" 2>/dev/null

/usr/bin/python3 - "$parts_json" "$step_json" "$rounds" "$threads" <<'PY'
import json, sys

parts_file, step_file, rounds, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

def best_runs(path):
    """name → the repetition with the shortest real time (the machine's rate, not its noise)."""
    best = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"] if "run_name" in b else b["name"]
        if name not in best or b["real_time"] < best[name]["real_time"]:
            best[name] = b
    return best

parts = best_runs(parts_file)
steps = best_runs(step_file)
bandwidth = parts["memory/triad"]["GB/s"] * 1e9  # bytes/s

def ms(b):
    scale = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}[b["time_unit"]]
    return b["real_time"] * scale * 1e3

# The parts a sparse step at L0 64 runs, in order. The decoder cap runs inside Adam in the step.
step_parts = [
    ("0_teacher_forward", "teacher forward (2 products + GELU)"),
    ("1_encoder_product", "encoder product x·W_encᵀ"),
    ("2_bias_activation_l1", "bias + ReLU + Σ|a| + count"),
    ("3_decoder_sparse_l0_64", "sparse decoder (collect pairs + decode)"),
    ("4_loss_gradient", "loss gradient"),
    ("5-8_sparse_backward_l0_64", "sparse backward (∂z, ∂W_dec, ∂W_enc)"),
    ("9_adam", "AdamW over every parameter"),
]
print(f"memory/triad: {bandwidth / 1e9:.1f} GB/s; threads {threads}; best of {rounds} repetitions per row")
for config, step_name in (("config_b", "train_step_l0_64/config_b"), ("config_c", "train_step_l0_64/config_c")):
    sgemm = parts[f"sgemm/eigen/{config}_encoder"]["GFLOP/s"] * 1e9
    print()
    print(f"{config}: sgemm (Eigen, encoder shape) {sgemm / 1e9:.1f} GFLOP/s")
    print("| part | measured ms | FLOP bound ms | bytes bound ms | bound ms | measured / bound |")
    print("|---|---|---|---|---|---|")
    total_measured = total_bound = 0.0
    for key, label in step_parts:
        b = parts[f"parts/{config}/{key}"]
        flop_ms = b["flop"] / sgemm * 1e3
        bytes_ms = b["bytes"] / bandwidth * 1e3
        bound = max(flop_ms, bytes_ms)
        total_measured += ms(b)
        total_bound += bound
        print(f"| {label} | {ms(b):.2f} | {flop_ms:.2f} | {bytes_ms:.2f} | {bound:.2f} | {ms(b) / bound:.2f}× |")
    step = steps[step_name]
    step_ms = ms(step)
    print(f"| **sum of the parts** | {total_measured:.2f} | | | {total_bound:.2f} | {total_measured / total_bound:.2f}× |")
    print(f"| **whole step** (L0 {step['L0']:.1f}, {step['tokens/s']:.0f} tokens/s) | {step_ms:.2f} | | | {total_bound:.2f} | "
          f"{step_ms / total_bound:.2f}× (bound share {total_bound / step_ms:.0%}) |")
PY
