#!/usr/bin/env bash
# Peak memory of `distill lm --harvest-dir` on GPT-2-small-shaped activations (d_model 768, d_mlp 3072,
# GPT-2's vocabulary; 2 random layers, layer 1 distilled into a ×4 student, d_sae 12288) for two text
# lengths: with the harvest streamed to disk and the analyses capped at 4096 held-out tokens, what is
# left that grows with the text is the token ids (a few bytes per token).
#
#   benchmarks/harvest_memory.sh [BUILD_DIR] [TOKENS...]     (default: build, 65536 and 262144)
set -euo pipefail
build=${1:-build}
shift || true
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(65536 262144)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf "%10s %12s %14s %12s\n" tokens "peak RSS MiB" "harvest MiB" seconds
for n in "${counts[@]}"; do
    "$build/examples/make_random_gpt2" "$work/gpt2_$n" 768 2 12 "$n"
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/rss_$n" "$build/examples/distill" -q --tokens 16384 --batch 1024 -o "$work/out_$n" \
        lm --model "$work/gpt2_$n" --token-ids "$work/gpt2_$n/token_ids.npy" --window 256 --layers 1 \
        --harvest-dir "$work/harvest_$n" --analysis-tokens 4096 --example-features 0 > "$work/log_$n"
    end=$(date +%s.%N)
    harvest=$(du -sm "$work/harvest_$n" | cut -f1)
    printf "%10d %12d %14d %12.0f\n" "$n" "$(( $(cat "$work/rss_$n") / 1024 ))" "$harvest" "$(awk "BEGIN {print $end - $start}")"
done
