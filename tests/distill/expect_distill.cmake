# expect(<exit code> <regex the output must match> <args...>): runs `${DISTILL} args...` (at most 60 s,
# so a hang fails rather than blocks) and appends to `failures` when its exit code or output differ.
# It runs in ${EXPECT_WORKING_DIRECTORY} when that is set.
# Scripts include this, then end with: if(failures) message(FATAL_ERROR ...).
set(failures "")
function(expect code pattern)
  set(where "")
  if(EXPECT_WORKING_DIRECTORY)
    set(where WORKING_DIRECTORY "${EXPECT_WORKING_DIRECTORY}")
  endif()
  execute_process(COMMAND "${DISTILL}" ${ARGN} ${where} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
  set(all "${out}${err}")
  if(NOT rc STREQUAL "${code}")
    set(failures "${failures}\n  distill ${ARGN}: exit '${rc}', expected ${code}; output: ${all}" PARENT_SCOPE)
  elseif(NOT all MATCHES "${pattern}")
    set(failures "${failures}\n  distill ${ARGN}: output lacks /${pattern}/: ${all}" PARENT_SCOPE)
  else()
    message(STATUS "ok (exit ${rc}): distill ${ARGN}")
  endif()
endfunction()
