# `distill train` faults found by an outside attack (issue 18), on small files made by make_train_files
# (no shared data needed). Each case failed before its fix:
#   1. --inputs 'acts/shard_*.npy' is expanded (it was read as a file name);
#   2. --resume refuses a different --teacher-act or a changed input file at the same path, and accepts
#      the same file by a relative path (it accepted anything with the same paths);
#   3. a finished run resumed again leaves metrics.json as it was (it overwrote it with zeros);
#   4. an unwritable --save or --checkpoint-dir fails before the first step (it failed after training);
#   5. NaN weights in --init-student are refused when read, naming the file (it failed at step 1);
#   7. a FIFO as --inputs or --teacher is refused at once (it hung).
# (6, checkpoint checksums, is tested on the library: tests/train/test_checkpoint_integrity.cpp.)
#
#   cmake -DDISTILL=<distill> -DMAKE_FILES=<make_train_files> -DWORK_DIR=<dir> -P check_train_faults.cmake
cmake_minimum_required(VERSION 3.21)
include(${CMAKE_CURRENT_LIST_DIR}/expect_distill.cmake)

file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND "${MAKE_FILES}" "${WORK_DIR}/files" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_train_files failed (${rc})")
endif()
set(files "${WORK_DIR}/files")
set(small -q --d-sae 32 --batch 16 --log-every 1)
set(teacher --teacher ${files}/teacher.safetensors)

# 1. A quoted pattern lists both shards, in order.
expect(0 "trained 6 steps" ${small} -o ${WORK_DIR}/pattern train ${teacher} --inputs "${files}/acts/shard_*.npy" --steps 6)
file(READ "${WORK_DIR}/pattern/metrics.json" metrics)
string(JSON first GET "${metrics}" inputs 0)
string(JSON second GET "${metrics}" inputs 1)
if(NOT first MATCHES "shard_0.npy$" OR NOT second MATCHES "shard_1.npy$")
  set(failures "${failures}\n  the pattern expanded to '${first}', '${second}'")
endif()
expect(1 "shard_\\*.npz: pattern: matches no file" ${small} -o ${WORK_DIR}/none train ${teacher} --inputs "${files}/acts/shard_*.npz")

# 2 and 3. A checkpointed run on copies of the shards; then resumes that must be refused or accepted.
file(COPY "${files}/acts/" DESTINATION "${WORK_DIR}/mine")
set(run ${small} --teacher-act gelu -o ${WORK_DIR}/resumed train ${teacher} --inputs ${WORK_DIR}/mine/shard_0.npy
    ${WORK_DIR}/mine/shard_1.npy --steps 6 --checkpoint-dir ${WORK_DIR}/resumed/ckpt)
expect(0 "trained 6 steps" ${run})
file(READ "${WORK_DIR}/resumed/metrics.json" finished_metrics)
expect(0 "had already finished \\(step 6 of 6\\): nothing to train; its outputs are left as they were" ${run} --resume)
file(READ "${WORK_DIR}/resumed/metrics.json" metrics_after)
if(NOT metrics_after STREQUAL finished_metrics)
  set(failures "${failures}\n  resuming a finished run changed metrics.json")
endif()
# The same shards by relative paths, from another working directory.
set(EXPECT_WORKING_DIRECTORY "${WORK_DIR}/mine")
expect(0 "had already finished" ${small} --teacher-act gelu -o ${WORK_DIR}/resumed train ${teacher}
       --inputs shard_0.npy ./shard_1.npy --steps 6 --checkpoint-dir ${WORK_DIR}/resumed/ckpt --resume)
unset(EXPECT_WORKING_DIRECTORY)
string(REPLACE "--teacher-act;gelu" "--teacher-act;relu" relu_run "${run}")
expect(1 "run.identity.teacher_act: the checkpoint was written with \"gelu\", this run has \"relu\"" ${relu_run} --resume)
# The second shard rewritten with other rows of the same size, at the same path.
file(COPY_FILE "${files}/acts/shard_0.npy" "${WORK_DIR}/mine/shard_1.npy")
expect(1 "run.identity.inputs\\[1\\]: the checkpoint was written with" ${run} --resume)

# 4. Outputs that cannot be written are found before the first step.
file(WRITE "${WORK_DIR}/a_file" "in the way")
expect(1 "a_file/student: folder: its parent .*a_file is not a folder"
       ${small} -o ${WORK_DIR}/unsaved train ${teacher} --inputs ${files}/acts/shard_0.npy --steps 20000 --save ${WORK_DIR}/a_file/student)
expect(1 "a_file/ckpt: checkpoint directory: cannot create"
       ${small} -o ${WORK_DIR}/unsaved train ${teacher} --inputs ${files}/acts/shard_0.npy --steps 20000 --checkpoint-dir ${WORK_DIR}/a_file/ckpt)
if(EXISTS "${WORK_DIR}/unsaved/metrics.json")
  set(failures "${failures}\n  a run with an unwritable output trained and wrote metrics.json")
endif()

# 5. NaN in the initial student, named at load.
expect(1 "nan_student: weights W_enc \\[d_sae, d_in\\]: NaN at \\[3, 1\\]"
       ${small} -o ${WORK_DIR}/nan train ${teacher} --inputs ${files}/acts/shard_0.npy --steps 2 --init-student ${files}/nan_student)

# 7. A FIFO is refused, not opened (opening it would block until the 60 s timeout).
execute_process(COMMAND mkfifo "${WORK_DIR}/fifo.npy" RESULT_VARIABLE rc)
if(rc EQUAL 0)
  expect(1 "fifo.npy: file: is a FIFO \\(named pipe\\); expected a regular file"
         ${small} -o ${WORK_DIR}/fifo train ${teacher} --inputs ${WORK_DIR}/fifo.npy --steps 2)
  expect(1 "fifo.npy: file: is a FIFO"
         ${small} -o ${WORK_DIR}/fifo train --teacher ${WORK_DIR}/fifo.npy --inputs ${files}/acts/shard_0.npy --steps 2)
else()
  set(failures "${failures}\n  mkfifo failed (${rc})")
endif()

if(failures)
  message(FATAL_ERROR "distill train fault checks failed:${failures}")
endif()
