# Bad flags and impossible values must give a clear message and a non-zero exit (2 for settings, 1
# for files), never a crash: each case runs `distill` and checks its exit code and its message.
#
#   cmake -DDISTILL=<distill executable> -DWORK_DIR=<dir> -P check_cli_errors.cmake
cmake_minimum_required(VERSION 3.21)

set(failures "")
# expect(<exit code> <regex the output must match> <args...>)
function(expect code pattern)
  execute_process(COMMAND "${DISTILL}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
  set(all "${out}${err}")
  if(NOT rc STREQUAL "${code}")
    set(failures "${failures}\n  distill ${ARGN}: exit '${rc}', expected ${code}; output: ${all}" PARENT_SCOPE)
  elseif(NOT all MATCHES "${pattern}")
    set(failures "${failures}\n  distill ${ARGN}: output lacks /${pattern}/: ${all}" PARENT_SCOPE)
  else()
    message(STATUS "ok (exit ${rc}): distill ${ARGN}")
  endif()
endfunction()

set(out "${WORK_DIR}/cli_errors")
expect(0 "--l1-reduction" --help)
expect(0 "--l1-values" sweep --help)
expect(2 "--no-such-flag" --no-such-flag)
expect(2 "--probability" --probability 2 -o ${out})
expect(2 "--d-sae" --d-sae -5 -o ${out})
expect(2 "--act" --act tanh -o ${out})
expect(2 "--tokens" --tokens abc -o ${out})
expect(2 "tokens \\(10\\) must be at least one batch" --tokens 10 --batch 256 --no-sae --no-gelu-student -o ${out})
expect(2 "magnitudes must satisfy" --magnitude-min 2 --magnitude-max 1 -o ${out})
expect(2 "tied_decoder" --input-bias tied_decoder --no-biases -o ${out})
expect(2 "--l1-values" sweep --l1-values 0.1,-1 -o ${out})
file(MAKE_DIRECTORY "${WORK_DIR}")
file(WRITE "${WORK_DIR}/a_file" "not a folder")
expect(1 "a_file" --tokens 256 --batch 256 --no-sae --no-gelu-student --eval-tokens 64 -q -o "${WORK_DIR}/a_file/out")

if(failures)
  message(FATAL_ERROR "distill CLI checks failed:${failures}")
endif()
