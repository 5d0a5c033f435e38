# `distill train` reproduces the shared train_step reference from the command line: three steps in
# double precision from its teacher, inputs and initial student, saved as SAELens, must equal
# student_after_step3.safetensors tensor by tensor (relative difference < 1e-10) with the logged
# losses of expected.json. Then the saved student is read back as --init-student, and a sparsify
# export is written and read back too.
#
#   cmake -DDISTILL=<exe> -DCOMPARE=<compare_students exe> -DWORK_DIR=<dir> -DREFERENCE=<…/reference/train_step>
#         -P check_train_cli.cmake
cmake_minimum_required(VERSION 3.21)

include(${CMAKE_CURRENT_LIST_DIR}/../support/shared_data.cmake)
foreach(name teacher.safetensors inputs.npy student_init.safetensors student_after_step3.safetensors expected.json)
  sd_require_shared_file("${REFERENCE}/${name}")
endforeach()
if(NOT EXISTS "${COMPARE}")
  message(FATAL_ERROR "${COMPARE} is not built (cmake --build <dir> --target sd_compare_students)")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")

# The reference config (expected.json "config") as flags.
set(config -q --log-every 1 --batch 32 --l1 0.001 --l1-reduction batch_mean --lr 0.01 --beta1 0.9 --beta2 0.999
    --eps 1e-8 --weight-decay 0.01 --weight-decay-mode decoupled --warmup 1 --lr-min-ratio 0.1 --decoder-norm cap --teacher-act gelu)

function(run_distill label)
  execute_process(COMMAND "${DISTILL}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${label}: distill ${ARGN}\n${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${label}: distill failed (${rc}):\n${out}\n${err}")
  endif()
endfunction()

run_distill("reference" ${config} -o "${WORK_DIR}/run" train --teacher "${REFERENCE}/teacher.safetensors"
            --inputs "${REFERENCE}/inputs.npy" --init-student "${REFERENCE}/student_init.safetensors" --steps 3
            --dtype double --save "${WORK_DIR}/student")
foreach(f run/metrics.jsonl run/metrics.json student/sae_weights.safetensors student/cfg.json)
  if(NOT EXISTS "${WORK_DIR}/${f}")
    message(FATAL_ERROR "distill train did not write ${f}")
  endif()
endforeach()

execute_process(COMMAND "${COMPARE}" "${WORK_DIR}/student/sae_weights.safetensors" "${REFERENCE}/student_after_step3.safetensors"
                        1e-10 "${WORK_DIR}/run/metrics.jsonl" "${REFERENCE}/expected.json"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "compare with student_after_step3:\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the saved student differs from student_after_step3.safetensors:\n${out}${err}")
endif()

file(READ "${WORK_DIR}/student/cfg.json" cfg)
string(JSON architecture GET "${cfg}" architecture)
string(JSON dtype GET "${cfg}" dtype)
string(JSON version GET "${cfg}" metadata sae_lens_version)
if(NOT architecture STREQUAL "transcoder" OR NOT dtype STREQUAL "float64" OR NOT version STREQUAL "6.5.0")
  message(FATAL_ERROR "cfg.json: architecture '${architecture}', dtype '${dtype}', sae_lens_version '${version}'")
endif()

# The saved folder and a sparsify export start further runs.
run_distill("from the SAELens folder" ${config} -o "${WORK_DIR}/run2" train --teacher "${REFERENCE}/teacher.safetensors"
            --inputs "${REFERENCE}/inputs.npy" --init-student "${WORK_DIR}/student" --steps 1 --dtype double
            --save "${WORK_DIR}/coder" --save-format sparsify)
run_distill("from the sparsify folder" ${config} -o "${WORK_DIR}/run3" train --teacher "${REFERENCE}/teacher.safetensors"
            --inputs "${REFERENCE}/inputs.npy" --init-student "${WORK_DIR}/coder" --steps 1)
foreach(f coder/sae.safetensors coder/cfg.json run3/metrics.jsonl)
  if(NOT EXISTS "${WORK_DIR}/${f}")
    message(FATAL_ERROR "distill train did not write ${f}")
  endif()
endforeach()
