# `distill train` reproduces each sparse-architecture reference of shared/data/reference/train_step_variants
# from the command line alone: three steps in double precision from its teacher, inputs and initial
# student, with every setting of its expected.json as a flag, saved in the native format, must equal
# student_after_step3.safetensors tensor by tensor (relative difference < 1e-10), and metrics.jsonl the
# logged values. --total-steps sets the schedule apart from --steps: two steps of a three-step schedule
# equal student_after_step2.
#
#   cmake -DDISTILL=<exe> -DCOMPARE=<compare_students exe> -DWORK_DIR=<dir> -DREFERENCE=<…/reference/train_step_variants>
#         -P check_train_variants_cli.cmake
cmake_minimum_required(VERSION 3.21)

include(${CMAKE_CURRENT_LIST_DIR}/../support/shared_data.cmake)
sd_require_shared_file("${REFERENCE}/topk/expected.json")
file(REMOVE_RECURSE "${WORK_DIR}")

set(common -q --log-every 1 --batch 32 --lr 0.01 --beta1 0.9 --beta2 0.999 --eps 1e-8 --weight-decay 0.01
    --weight-decay-mode decoupled --warmup 1 --total-steps 3 --lr-min-ratio 0.1 --decoder-norm none --teacher-act gelu)
set(flags_topk --arch topk --k 4)
set(flags_topk_auxk --arch topk --k 4 --auxk-alpha 0.03125)
set(flags_topk_auxk_encoder --arch topk --k 4 --auxk-alpha 0.03125 --auxk-to-encoder)
set(flags_batchtopk --arch batchtopk --k 4 --threshold-rate 0.01)
set(flags_jumprelu --arch jumprelu --l0-coeff 0.05 --bandwidth 0.05)
set(flags_skip_topk --arch topk --k 4 --skip)

function(run_variant variant steps compare_with)
  set(dir "${REFERENCE}/${variant}")
  set(extra)
  if(EXISTS "${dir}/dead_mask.npy")
    set(extra --dead-mask "${dir}/dead_mask.npy")
  endif()
  set(out "${WORK_DIR}/${variant}_${steps}")
  execute_process(COMMAND "${DISTILL}" ${common} ${flags_${variant}} -o "${out}/run" train --teacher "${dir}/teacher.safetensors"
                          --inputs "${dir}/inputs.npy" --init-student "${dir}/student_init.safetensors" --steps ${steps}
                          --dtype double --save "${out}/student" --save-format native ${extra}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  message(STATUS "${variant}, ${steps} steps:\n${stdout}${stderr}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${variant}: distill train failed (${rc}):\n${stdout}\n${stderr}")
  endif()
  set(log_args)
  if(steps EQUAL 3)
    set(log_args "${out}/run/metrics.jsonl" "${dir}/expected.json")
  endif()
  execute_process(COMMAND "${COMPARE}" "${out}/student/student.safetensors" "${dir}/${compare_with}" 1e-10 ${log_args}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  message(STATUS "${variant}: compare with ${compare_with}:\n${stdout}${stderr}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${variant}: the saved student differs from ${compare_with}:\n${stdout}${stderr}")
  endif()
endfunction()

foreach(variant topk topk_auxk topk_auxk_encoder batchtopk jumprelu skip_topk)
  run_variant(${variant} 3 student_after_step3.safetensors)
endforeach()
run_variant(topk 2 student_after_step2.safetensors)

# The native folder of a BatchTopK student keeps its inference threshold τ.
file(READ "${WORK_DIR}/batchtopk_3/student/cfg.json" cfg)
string(JSON tau GET "${cfg}" batch_threshold)
file(READ "${REFERENCE}/batchtopk/expected.json" expected)
string(JSON expected_tau GET "${expected}" log 2 topk_threshold)
string(SUBSTRING "${tau}" 0 10 tau_digits)
string(SUBSTRING "${expected_tau}" 0 10 expected_digits)
if(NOT tau_digits STREQUAL expected_digits)
  message(FATAL_ERROR "batchtopk: cfg.json batch_threshold ${tau}, the reference's τ after step 3 is ${expected_tau}")
endif()
