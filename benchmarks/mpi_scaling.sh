#!/usr/bin/env bash
# Data-parallel scaling of `distill train` on this machine: one process on 1 and on all cores, and
# mpirun -np 2 (one core a rank), at config (b) (d 256, teacher d_mlp 1024, d_sae 4096, batch 1024, the
# teacher live: a random GPT-2 layer from make_random_gpt2) and, with --c, config (c) (d 1024, d_mlp 4096,
# d_sae 16384, batch 512). Tokens per second from each run's metrics.json (the training loop only).
#
#   benchmarks/mpi_scaling.sh [BUILD_DIR] [--c] [STEPS]      (default: build, (b) only, 60 steps)
set -euo pipefail
build=${1:-build}
shift || true
configs=(b)
if [ "${1:-}" = "--c" ]; then configs+=(c); shift; fi
steps=${1:-60}
distill=$build/examples/distill
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpirun_=(mpirun --oversubscribe --allow-run-as-root)
cores=$(nproc)

tokens_per_second() {  # metrics.json → tokens / seconds
    /usr/bin/python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(int(m['tokens']/m['seconds']))" "$1"
}

printf "%-6s %-28s %12s %10s\n" config run "tokens/s" "vs 1 core"
for config in "${configs[@]}"; do
    case $config in
        b) d=256 d_sae=4096 batch=1024 ;;
        c) d=1024 d_sae=16384 batch=512 ;;
    esac
    "$build/examples/make_random_gpt2" "$work/gpt2_$config" $d 1 4 16 >/dev/null
    /usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(1).standard_normal((65536, $d), dtype=np.float32))" \
        "$work/inputs_$config.npy"
    args=(-q --d-sae $d_sae --batch $batch --seed 1 train --teacher "$work/gpt2_$config" --teacher-format gpt2 --layer 0
          --inputs "$work/inputs_$config.npy" --shuffle-buffer 16384 --steps "$steps")
    "$distill" --threads 1 -o "$work/one_$config" "${args[@]}" >/dev/null
    base=$(tokens_per_second "$work/one_$config/metrics.json")
    printf "%-6s %-28s %12d %10.2f\n" $config "1 process, 1 thread" "$base" 1
    "$distill" --threads "$cores" -o "$work/all_$config" "${args[@]}" >/dev/null
    rate=$(tokens_per_second "$work/all_$config/metrics.json")
    printf "%-6s %-28s %12d %10.2f\n" $config "1 process, $cores threads" "$rate" "$(awk "BEGIN {print $rate / $base}")"
    "${mpirun_[@]}" -np 2 "$distill" --threads 1 -o "$work/ranks_$config" "${args[@]}" >/dev/null
    rate=$(tokens_per_second "$work/ranks_$config/metrics.json")
    printf "%-6s %-28s %12d %10.2f\n" $config "mpirun -np 2, 1 thread each" "$rate" "$(awk "BEGIN {print $rate / $base}")"
done
