#!/usr/bin/env bash
# Our training step against the PyTorch peer (../shared/peers/torch_cpu_step.py) for the same
# configuration, in the same run: the two alternate `rounds` times per config so that machine noise
# hits both, and the table gives the median tokens/s of each and their ratio. Our L0 is printed with
# every figure (an untrained student is dense: see issue 6 for benchmarks at a chosen L0).
#
#   benchmarks/compare_torch.sh [config ...]     configs: toy a b c (default: toy a b)
#   ROUNDS=3 BUILD=build benchmarks/compare_torch.sh a
#
# Installs python3-torch (Debian) when missing and builds bench_train_step when it is not built.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
rounds=${ROUNDS:-3}
peer=${PEER:-$root/../shared/peers/torch_cpu_step.py}
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(toy a b)

if [ ! -f "$peer" ]; then
  echo "compare_torch: the peer $peer is not here (it lives in the project's ../shared/peers)" >&2
  exit 2
fi
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "compare_torch: installing python3-torch" >&2
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd=sudo
  $sudo_cmd apt-get install -y -qq --no-install-recommends python3-torch >&2
fi
bench=$build/benchmarks/bench_train_step
if [ ! -x "$bench" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSD_BUILD_BENCHMARKS=ON >&2
  cmake --build "$build" --target bench_train_step --parallel "$(nproc)" >&2
fi

# config → "d m h batch name peer_steps"
shape() {
  case "$1" in
    toy) echo "1000 1 1 1024 toy 300" ;;
    a) echo "64 256 1024 1024 config_a 200" ;;
    b) echo "256 1024 4096 1024 config_b 40" ;;
    c) echo "1024 4096 16384 512 config_c 5" ;;
    *) echo "compare_torch: unknown config '$1' (expected toy, a, b or c)" >&2; exit 2 ;;
  esac
}

median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

printf '%-8s %14s %14s %8s %8s\n' config "ours tok/s" "torch tok/s" ratio "our L0"
for config in "${configs[@]}"; do
  read -r d m h batch name peer_steps < <(shape "$config")
  ours=() theirs=() l0=""
  for _ in $(seq "$rounds"); do
    json=$("$bench" --benchmark_filter="^train_step/$name(/|\$)" --benchmark_min_time=1 --benchmark_format=json 2>/dev/null)
    ours+=("$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"][0]; print(b["tokens/s"])')")
    l0=$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["benchmarks"][0]["L0"], 1))')
    # The OpenBLAS tuning variables some images set make Debian's torch ~10× slower here.
    line=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$peer" --d "$d" --m "$m" --h "$h" \
             --batch "$batch" --steps "$peer_steps" --threads 1 --blas-threads 2 | tail -n 1)
    theirs+=("${line#tokens_per_s=}")
  done
  o=$(printf '%s\n' "${ours[@]}" | median)
  t=$(printf '%s\n' "${theirs[@]}" | median)
  printf '%-8s %14.0f %14.0f %8.2f %8s\n' "$config" "$o" "$t" "$(awk -v o="$o" -v t="$t" 'BEGIN {print o / t}')" "$l0"
done
