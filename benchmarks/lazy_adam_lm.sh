#!/usr/bin/env bash
# Lazy Adam (distill --lazy-adam) against exact AdamW on stories260K: for each seed and layer the same run
# twice, and per run the training time, L0, FVU and the loss recovered (mean ablation) on held-out text.
#   benchmarks/lazy_adam_lm.sh [build]        SEEDS="0 1 2" LAYERS=1,3 WIDTH=16 L1=0.1 TOKENS=500000
# Needs the distill example and ../shared/data (stories260K, TinyStories text).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
data=${SD_SHARED_DATA_DIR:-$root/../shared/data}
distill=$build/examples/distill
[ -x "$distill" ] || { echo "lazy_adam_lm: build the distill example first ($distill)" >&2; exit 2; }
[ -f "$data/stories260K/stories260K.bin" ] || { echo "lazy_adam_lm: $data/stories260K is not here" >&2; exit 2; }
seeds=${SEEDS:-0 1 2} layers=${LAYERS:-1,3} width=${WIDTH:-16} l1=${L1:-0.1} tokens=${TOKENS:-500000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "stories260K layers $layers, ReLU student ×$width, λ $l1, $tokens tokens, lr 3e-3, seeds: $seeds"
printf '| seed | layer | adam | train s | L0 | FVU | loss recovered |\n|---|---|---|---|---|---|---|\n'
for seed in $seeds; do
  for mode in exact lazy; do
    flag=()
    [ "$mode" = lazy ] && flag=(--lazy-adam)
    "$distill" --out "$out/$seed-$mode" --seed "$seed" -q lm --checkpoint "$data/stories260K/stories260K.bin" \
      --tokenizer "$data/stories260K/tok512.bin" --text "$data/tinystories/tinystories_train_head.txt" --layers "$layers" \
      --width-ratio "$width" --tokens "$tokens" --l1 "$l1" --lr 3e-3 "${flag[@]}" >/dev/null
    /usr/bin/python3 - "$out/$seed-$mode/metrics.json" "$seed" "$mode" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for layer in m["layers"]:
    a, t = layer["analysis"], layer["train"]
    print(f"| {sys.argv[2]} | {layer['layer']} | {sys.argv[3]} | {t['seconds']:.2f} | {a['l0']:.1f} | {a['reconstruction']['fvu']:.4f} | "
          f"{layer['losses']['recovered_vs_mean']:.4f} |")
PY
  done
done
