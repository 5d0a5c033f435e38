# A test that needs ../shared/data must report itself skipped when the data is absent (never passed with
# no assertion), and fail under SD_REQUIRE_SHARED=1 (CI). Runs one such test case of a suite with
# SD_SHARED_DATA pointing nowhere, both ways.
#
#   cmake -DSUITE=<test executable> -DCASE=<doctest test case name> -P check_shared_data_skip.cmake
cmake_minimum_required(VERSION 3.21)

execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=SD_REQUIRE_SHARED SD_SHARED_DATA=/nonexistent/shared/data
                        "${SUITE}" "--test-case=${CASE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "SD_SKIPPED: .*/nonexistent/shared/data/")
  message(FATAL_ERROR "without shared data, '${CASE}' should print SD_SKIPPED and exit 0; exit ${rc}:\n${out}${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env SD_SHARED_DATA=/nonexistent/shared/data SD_REQUIRE_SHARED=1
                        "${SUITE}" "--test-case=${CASE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT out MATCHES "SD_REQUIRE_SHARED=1 but .*/nonexistent/shared/data/.* is missing")
  message(FATAL_ERROR "with SD_REQUIRE_SHARED=1 and no shared data, '${CASE}' should fail; exit ${rc}:\n${out}${err}")
endif()
message(STATUS "'${CASE}': skipped without shared data, failed under SD_REQUIRE_SHARED=1")
