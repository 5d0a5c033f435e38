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
# Then a cost model predicts the step on other core counts from this run alone. Each part keeps the
# measured / bound ratio it showed here; its FLOP bound scales with the sgemm rate per core (this run's
# rate / THREADS) times the cores; its bytes bound with the bandwidth per core (triad / THREADS) times the
# cores, up to the machine's memory bandwidth, which this run cannot see: MEMORY_GBPS_16 (default 150) and
# MEMORY_GBPS_64 (default 400) are assumed for a 16- and a 64-core machine (about 8 and 12 channels of
# DDR5 at 60% of their peak). Check it by running THREADS=1 and comparing the measured step with the
# 1-core prediction of a THREADS=2 run. Last, the model calibrated on config c predicts config c's step at
# other d_sae (2k–16k) and is put against bench_train_step's train_step_width/l0_64 rows of the same run.
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
  --benchmark_filter='^(train_step_l0_64/config_[bc](/|$)|train_step_width/l0_64/)' >"$step_json" 2>/dev/null

/usr/bin/python3 - "$parts_json" "$step_json" "$rounds" "$threads" "${MEMORY_GBPS_16:-150}" "${MEMORY_GBPS_64:-400}" <<'PY'
import json, sys

parts_file, step_file, rounds, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
assumed_bandwidth = {16: float(sys.argv[5]) * 1e9, 64: float(sys.argv[6]) * 1e9}

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

class by_prefix(dict):
    """Looks a benchmark up by the name it was registered with (its run name adds /args and /min_time)."""
    def __getitem__(self, key):
        found = [v for k, v in self.items() if k == key or k.startswith(key + "/")]
        if len(found) != 1:
            sys.exit(f"roofline: expected one benchmark named {key}, found {len(found)}")
        return found[0]

parts = by_prefix(best_runs(parts_file))
steps = by_prefix(best_runs(step_file))
bandwidth = parts["memory/triad"]["GB/s"] * 1e9  # bytes/s

def ms(b):
    scale = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}[b["time_unit"]]
    return b["real_time"] * scale * 1e3

def part_costs(d, m, h, batch, l0):
    """Each part's (FLOPs, bytes) at a shape, in step_parts' order, counted as bench_parts' set_cost counts
    them (checked against its counters below, so the two cannot drift apart)."""
    touched = min(h, batch * l0)  # decoder rows a batch touches
    return [
        (4 * batch * d * m, 4 * (2 * batch * d + 2 * d * m + 3 * batch * m)),  # teacher forward
        (2 * batch * h * d, 4 * (batch * d + h * d + batch * h)),              # encoder product
        (0, 12 * batch * h),                                                   # bias + ReLU + sums
        (2 * batch * l0 * d, 4 * (batch * h + touched * d + batch * d)),       # sparse decoder
        (3 * batch * d, 12 * batch * d),                                       # loss gradient
        (6 * batch * l0 * d, 4 * (touched * d + 2 * h * d + 2 * batch * d)),   # sparse backward
        (0, 28 * (2 * h * d + h + d)),                                         # AdamW: 7 streams of 4 bytes
    ]

shapes = {"config_b": (256, 1024, 4096, 1024), "config_c": (1024, 4096, 16384, 512)}

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
    model = []  # (flop, bytes, measured / bound) per part
    for (key, label), (flop, nbytes) in zip(step_parts, part_costs(*shapes[config], 64)):
        b = parts[f"parts/{config}/{key}"]
        if abs(b["flop"] - flop) > 1e-9 * max(flop, 1) or abs(b["bytes"] - nbytes) > 1e-9 * nbytes:
            sys.exit(f"roofline: part_costs disagrees with bench_parts on {config}/{key}: "
                     f"{flop:.6g} / {nbytes:.6g} against {b['flop']:.6g} / {b['bytes']:.6g}")
        flop_ms = b["flop"] / sgemm * 1e3
        bytes_ms = b["bytes"] / bandwidth * 1e3
        bound = max(flop_ms, bytes_ms)
        total_measured += ms(b)
        total_bound += bound
        model.append((b["flop"], b["bytes"], ms(b) / bound))
        print(f"| {label} | {ms(b):.2f} | {flop_ms:.2f} | {bytes_ms:.2f} | {bound:.2f} | {ms(b) / bound:.2f}× |")
    step = steps[step_name]
    step_ms = ms(step)
    batch = step["tokens/s"] * step_ms / 1e3
    print(f"| **sum of the parts** | {total_measured:.2f} | | | {total_bound:.2f} | {total_measured / total_bound:.2f}× |")
    print(f"| **whole step** (L0 {step['L0']:.1f}, {step['tokens/s']:.0f} tokens/s) | {step_ms:.2f} | | | {total_bound:.2f} | "
          f"{step_ms / total_bound:.2f}× (bound share {total_bound / step_ms:.0%}) |")

    # The cost model (see the header): parts keep their inefficiency; rates scale with cores.
    def predicted_tokens_per_s(cores):
        rate = sgemm / threads * cores
        memory = bandwidth / threads * cores
        if cores in assumed_bandwidth:
            memory = min(memory, assumed_bandwidth[cores])
        seconds = sum(max(f / rate, b / memory) * ratio for f, b, ratio in model)
        seconds *= step_ms / total_measured  # what the step adds around its parts (or saves by overlap)
        return batch / seconds
    predictions = ", ".join(f"{c} cores {predicted_tokens_per_s(c):,.0f}" for c in (1, 2, 16, 64))
    print(f"model tokens/s: {predictions} (memory assumed {assumed_bandwidth[16] / 1e9:.0f} GB/s at 16 cores, "
          f"{assumed_bandwidth[64] / 1e9:.0f} GB/s at 64)")
    calibration = (sgemm, [ratio for _, _, ratio in model], step_ms / total_measured)

# The same model against d_sae: config c's d, d_mlp and batch at L0 64 with d_sae 2k–16k, each part's cost
# from part_costs at that width and its measured / bound ratio from config c. d_sae 1024 is left out: 64
# of 1024 features is above the sparse path's 5% threshold, so that row runs the dense path.
sgemm, ratios, overhead = calibration
print()
print(f"model against d_sae (config c's d, d_mlp, batch; L0 64; {threads} threads; calibrated on config c above):")
print("| d_sae | measured tokens/s | model tokens/s | model / measured |")
print("|---|---|---|---|")
for h in (2048, 4096, 8192, 16384):
    measured = steps[f"train_step_width/l0_64/1024/4096/{h}/512"]
    seconds = overhead * sum(max(f / sgemm, b / bandwidth) * ratio
                             for (f, b), ratio in zip(part_costs(1024, 4096, h, 512, 64), ratios))
    print(f"| {h:,} | {measured['tokens/s']:,.0f} | {512 / seconds:,.0f} | {512 / seconds / measured['tokens/s']:.2f} |")
PY
