#!/usr/bin/env bash
# The GPU check, in one call on the device machine: build (unless BUILD names a finished build),
# run the CUDA suite, run bench_gpu_step and the PyTorch peer in the same call, and print one table of
# tokens/s with our ratio to the peer at the same config, precision and teacher mode.
#   benchmarks/gpu/run_device.sh                         # build in build-gpu with CMake, then run
#   BUILD=build-cuda PEER=path/torch_gpu_step.py benchmarks/gpu/run_device.sh
# Environment: BUILD (a build with test_cuda and bench_gpu_step), PEER (the peer script; default
# ../shared/peers/torch_gpu_step.py; "skip" for none), OUT (where logs go; default ./gpu-out), BENCH_FILTER (a
# --benchmark_filter regex), SANITIZE (0: no compute-sanitizer pass), SD_SHARED_DATA (the shared data, for the train_step reference test),
# CMAKE_PREFIX_PATH (where Eigen, nlohmann_json, doctest and benchmark are found when building).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
PEER=${PEER:-../shared/peers/torch_gpu_step.py}
status=0

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"

if [[ -z "${BUILD:-}" ]]; then
  BUILD=build-gpu
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSD_ENABLE_CUDA=ON -DSD_BUILD_TESTS=ON -DSD_BUILD_BENCHMARKS=ON \
        -DSD_BUILD_EXAMPLES=OFF >"$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
  cmake --build "$BUILD" -j"$(nproc)" --target test_cuda bench_gpu_step bench_gpu_parts >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
fi
test_bin=$(find "$BUILD" -name test_cuda -type f | head -1)
bench_bin=$(find "$BUILD" -name bench_gpu_step -type f | head -1)
parts_bin=$(find "$BUILD" -name bench_gpu_parts -type f | head -1)

echo "== CUDA suite"
# -s prints every MESSAGE (the measured errors) as well as each check.
"$test_bin" -s --duration=true >"$OUT/test_cuda.log" 2>&1 || status=1
grep -A1 "MESSAGE" "$OUT/test_cuda.log" | grep -v -e "MESSAGE" -e "^--" | sed 's/^[[:space:]]*//' | sort | uniq -c | head -40
grep -E "ERROR|FATAL|fail|skipped" "$OUT/test_cuda.log" | head -20
grep -E "^\[doctest\] (test cases|assertions|Status)" "$OUT/test_cuda.log"

if command -v compute-sanitizer >/dev/null && [[ "${SANITIZE:-1}" == 1 ]]; then
  echo "== compute-sanitizer memcheck on the hand-written kernels"
  timeout 150 compute-sanitizer --tool memcheck --error-exitcode 3 "$test_bin" \
    -tc="*sparse path*,*column_sums*,*Adam*,*bias_activate*,*row-vector*,*squared_error*,*constrain_rows*,*graph*" \
    >"$OUT/memcheck.log" 2>&1
  rc=$?
  [[ $rc == 0 ]] || status=1
  echo "memcheck exit $rc"; grep -E "ERROR SUMMARY|Invalid|test cases" "$OUT/memcheck.log" | head -10
fi

echo "== bench_gpu_step"
"$bench_bin" --benchmark_format=console --benchmark_out="$OUT/bench.json" --benchmark_out_format=json \
  ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"} >"$OUT/bench.log" 2>&1 || status=1
tail -3 "$OUT/bench.log"

if [[ -n "$parts_bin" ]]; then
  echo "== bench_gpu_parts (headline shape, L0 64)"
  "$parts_bin" >"$OUT/parts.log" 2>&1 || status=1
  grep -E "^(encoder|dense|weight|bias|activation|sparse|squared|column|adam)" "$OUT/parts.log" | sed 's/min_time:[0-9.]*\/real_time//'
fi

echo "== PyTorch peer"
if [[ "$PEER" == skip ]]; then
  echo "peer skipped" >"$OUT/peer.log"
elif [[ -f "$PEER" ]]; then
  PYTHONUNBUFFERED=1 python3 "$PEER" >"$OUT/peer.log" 2>&1 || status=1
  tail -2 "$OUT/peer.log"
else
  echo "peer script $PEER not found: no ratios" | tee "$OUT/peer.log"
fi

python3 benchmarks/gpu/gpu_table.py "$OUT/bench.json" "$OUT/peer.log" | tee "$OUT/table.md"
exit $status
