#!/usr/bin/env bash
# `mpirun -np N distill train` on Open MPI, oversubscribed on a small machine (CI has 2 cores):
#   1. N = 2 and 3 ranks end equal to one process with the same global batch: to 1e-12 relative in
#      double and 1e-5 in float after 100 steps (only the order of the gradient sums differs);
#   2. a 2-rank run repeated is bit-identical (the saved student, byte for byte);
#   3. a rank killed by SIGKILL stops the job within seconds, mpirun naming the rank; the last checkpoint
#      resumes on 2 ranks and ends bit-identical to an uninterrupted 2-rank run; resuming on 3 ranks or
#      on one is refused, naming run.ranks;
#   4. SIGTERM to mpirun: the ranks stop together at one step, rank 0 writes the checkpoint, and the run
#      resumes to the uninterrupted result;
#   5. bad launches: ranks given different options, a rank whose shard is missing (same arguments,
#      another working directory), a subcommand or architecture that runs on one rank only — each a
#      clear message and a non-zero exit, never a hang;
#   6. with the shared data (stories260K): `mpirun -np 2 distill lm --harvest-dir` harvests each rank's
#      windows into its own folder, gets the one-process mean-ablation loss (the ranks' means combined),
#      and a spliced loss between the clean and the ablated one; without --harvest-dir it is refused.
#
#   check_mpi_train.sh DISTILL MAKE_FILES COMPARE MPIRUN WORK_DIR [SHARED_DATA]
set -uo pipefail
distill=$1 make_files=$2 compare=$3 mpirun=$4 work=$5 shared=${6:-}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
"$make_files" files >/dev/null || { echo "make_train_files failed"; exit 1; }
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }
# --oversubscribe: more ranks than cores; one OpenMP thread a rank keeps each rank's sums fixed.
mpi() { "$mpirun" --oversubscribe --allow-run-as-root "$@"; }
train=(-q --threads 1 --d-sae 32 --batch 24 --seed 1 train --teacher files/teacher.safetensors
       --inputs files/acts/shard_0.npy files/acts/shard_1.npy --shuffle-buffer 40 --save-format native)
student() { echo "$1/student.safetensors"; }

# 1 and 2.
for dtype in double float; do
    "$distill" -o one_$dtype "${train[@]}" --steps 100 --dtype $dtype --save one_$dtype/s >/dev/null || fail "one process, $dtype"
    tolerance=$([ $dtype = double ] && echo 1e-12 || echo 1e-5)
    for n in 2 3; do
        mpi -np $n "$distill" -o ranks${n}_$dtype "${train[@]}" --steps 100 --dtype $dtype --save ranks${n}_$dtype/s >/dev/null ||
            fail "$n ranks, $dtype: exit status $?"
        echo "-- $n ranks vs one process, $dtype (tolerance $tolerance):"
        "$compare" "$(student ranks${n}_$dtype/s)" "$(student one_$dtype/s)" $tolerance || fail "$n ranks differ from one process ($dtype)"
    done
    grep -q '"ranks": 3' ranks3_$dtype/metrics.json || fail "metrics.json of the 3-rank run does not say \"ranks\": 3"
done
mpi -np 2 "$distill" -o again "${train[@]}" --steps 100 --dtype float --save again/s >/dev/null
cmp -s "$(student again/s)" "$(student ranks2_float/s)" && echo "-- a 2-rank run repeated: bit-identical" ||
    fail "a 2-rank run repeated is not bit-identical"
# Different ranks must not have summed to the same bits as one process (else the test proves nothing).
cmp -s "$(student ranks3_double/s)" "$(student one_double/s)" && echo "note: 3 ranks and one process agree to the bit"

# 3. Kill rank 1 after the first checkpoint.
long=(--steps 60000)
mpi -np 2 "$distill" -o killed "${train[@]}" "${long[@]}" --checkpoint-dir killed/ckpt --checkpoint-every 2000 --save killed/s \
    >killed.log 2>&1 &
job=$!
for _ in $(seq 600); do [ -f killed/ckpt/checkpoint.safetensors ] && break; sleep 0.05; done
ranks=($(pgrep -f "^$distill -o killed"))
if [ ${#ranks[@]} -ne 2 ]; then
    fail "expected 2 rank processes, found ${#ranks[@]}"
    kill $job
fi
start=$(date +%s%N)
kill -KILL "${ranks[-1]}"
wait $job
status=$?
waited_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "-- a killed rank: mpirun exited $status after $waited_ms ms"
[ $status -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
[ $waited_ms -lt 10000 ] || fail "the other rank took $waited_ms ms to stop"
grep -qE "process rank [01] .* exited on signal 9" killed.log || { cat killed.log; fail "mpirun did not name the killed rank"; }
mpi -np 3 "$distill" -o killed "${train[@]}" "${long[@]}" --checkpoint-dir killed/ckpt --save killed/s --resume >wrong.log 2>&1 &&
    fail "a 2-rank checkpoint resumed on 3 ranks"
grep -q "run.ranks: the checkpoint was written with 2, this run has 3" wrong.log || { cat wrong.log; fail "3-rank resume: no message naming run.ranks"; }
"$distill" -o killed "${train[@]}" "${long[@]}" --checkpoint-dir killed/ckpt --save killed/s --resume >wrong.log 2>&1 &&
    fail "a 2-rank checkpoint resumed by one process"
grep -q "run.ranks" wrong.log || { cat wrong.log; fail "one-process resume: no message naming run.ranks"; }
mpi -np 2 "$distill" -o killed "${train[@]}" "${long[@]}" --checkpoint-dir killed/ckpt --save killed/s --resume >/dev/null ||
    fail "resuming the killed run"
mpi -np 2 "$distill" -o whole "${train[@]}" "${long[@]}" --save whole/s >/dev/null || fail "the uninterrupted 2-rank run"
cmp -s "$(student killed/s)" "$(student whole/s)" && echo "-- killed, resumed on 2 ranks: bit-identical to the uninterrupted run" ||
    fail "the killed and resumed run differs from the uninterrupted one"

# 4. SIGTERM to mpirun.
"$mpirun" --oversubscribe --allow-run-as-root -np 2 "$distill" -o term "${train[@]}" "${long[@]}" --checkpoint-dir term/ckpt --checkpoint-every 2000 --save term/s \
    >term.log 2>&1 &
job=$!
for _ in $(seq 600); do [ -f term/ckpt/checkpoint.safetensors ] && break; sleep 0.05; done
kill -TERM $job
wait $job
grep -q "interrupted by signal 15 after step" term.log || { cat term.log; fail "SIGTERM: rank 0 did not report the stop"; }
mpi -np 2 "$distill" -o term "${train[@]}" "${long[@]}" --checkpoint-dir term/ckpt --save term/s --resume >/dev/null ||
    fail "resuming after SIGTERM"
cmp -s "$(student term/s)" "$(student whole/s)" && echo "-- SIGTERM, resumed: bit-identical to the uninterrupted run" ||
    fail "the run stopped by SIGTERM and resumed differs from the uninterrupted one"

# 5. Bad launches: each exits non-zero with its message, within the timeout.
expect_refusal() {  # expect_refusal PATTERN mpirun-arguments...
    local pattern=$1; shift
    timeout 60 "$mpirun" --oversubscribe --allow-run-as-root "$@" >refused.log 2>&1
    local status=$?
    [ $status -eq 124 ] && fail "hung: $*"
    [ $status -ne 0 ] || fail "exit 0: $*"
    grep -qE -e "$pattern" refused.log || { cat refused.log; fail "no message matching '$pattern': $*"; }
}
expect_refusal "argument .* is '100' on rank 0 but '90' on rank 1" \
    -np 1 "$distill" -o mixed "${train[@]}" --steps 100 : -np 1 "$distill" -o mixed "${train[@]}" --steps 90
mkdir -p elsewhere/files/acts && cp files/teacher.safetensors elsewhere/files/ && cp files/acts/shard_0.npy elsewhere/files/acts/
expect_refusal "rank 1: error: .*shard_1.npy" \
    -np 1 --wdir "$work" "$distill" -o "$work/noshard" "${train[@]}" --steps 100 : \
    -np 1 --wdir "$work/elsewhere" "$distill" -o "$work/noshard" "${train[@]}" --steps 100
expect_refusal "only .distill train. and .distill lm. run on several ranks" -np 2 "$distill" -q --tokens 20000 run
expect_refusal "--arch batchtopk and --auxk-alpha run on one rank only" -np 2 "$distill" --arch batchtopk --k 4 "${train[@]}" --steps 10
expect_refusal "cannot be split over 3 ranks" -np 3 "$distill" -q --batch 2 train --teacher files/teacher.safetensors \
    --inputs files/acts/shard_0.npy --steps 10

# 6. distill lm on two ranks.
stories=$shared/stories260K
if [ -n "$shared" ] && [ -f "$stories/stories260K.bin" ]; then
    lm=(-q --threads 1 --tokens 20000 lm --checkpoint "$stories/stories260K.bin" --tokenizer "$stories/tok512.bin"
        --text "$shared/tinystories/tinystories_train_head.txt" --layers 1 --example-features 2)
    "$distill" -o lm_one "${lm[@]}" --harvest-dir lm_one/harvest >/dev/null || fail "lm on one process"
    mpi -np 2 "$distill" -o lm_two "${lm[@]}" --harvest-dir lm_two/harvest >/dev/null || fail "lm on 2 ranks"
    [ -f lm_two/harvest/rank0/layer1_mlp_in.00000.npy ] && [ -f lm_two/harvest/rank1/layer1_mlp_in.00000.npy ] ||
        fail "lm on 2 ranks: no harvest folder per rank"
    /usr/bin/python3 - lm_one/metrics.json lm_two/metrics.json <<'PY' || fail "lm on 2 ranks: losses"
import json, sys
one, two = (json.load(open(f)) for f in sys.argv[1:3])
a, b = one["layers"][0]["losses"], two["layers"][0]["losses"]
print(f"-- lm on 2 ranks: mean-ablated {b['mean_ablated']:.6f} (one process {a['mean_ablated']:.6f}), "
      f"spliced {b['student']:.4f} (one process {a['student']:.4f}), clean {b['clean']:.4f}")
assert two["ranks"] == 2
assert abs(a["mean_ablated"] - b["mean_ablated"]) < 1e-5 * a["mean_ablated"], "the ranks' mean MLP output differs"
assert b["clean"] < b["student"] < b["zero_ablated"], "the spliced loss is not between the clean and the ablated one"
PY
    expect_refusal "lm on 2 ranks needs --harvest-dir" -np 2 "$distill" -o lm_refused "${lm[@]}"
elif [ "${SD_REQUIRE_SHARED:-0}" = 1 ]; then
    fail "SD_REQUIRE_SHARED=1 but $stories/stories260K.bin is missing"
else
    echo "-- lm on 2 ranks: skipped (no shared data at '$shared')"
fi

echo "$failures failed"
[ $failures -eq 0 ]
