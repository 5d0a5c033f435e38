# The ctest "report: sample renders in chromium": writes the sample report with the sd_report_sample
# program, then runs check_in_chromium.cmake on it.
#
#   cmake -DSAMPLE=<sd_report_sample> -DWORK_DIR=<dir> -DEXPECT_IDS=id1,id2 -P run_sample_check.cmake
cmake_minimum_required(VERSION 3.21)

file(MAKE_DIRECTORY "${WORK_DIR}")
execute_process(COMMAND "${SAMPLE}" "${WORK_DIR}/sample_report.html" RESULT_VARIABLE sample_result)
if(NOT sample_result EQUAL 0)
  message(FATAL_ERROR "run_sample_check: ${SAMPLE} failed: ${sample_result}")
endif()

set(HTML "${WORK_DIR}/sample_report.html")
set(SCREENSHOT "${WORK_DIR}/sample_report.png")
include("${CMAKE_CURRENT_LIST_DIR}/check_in_chromium.cmake")
