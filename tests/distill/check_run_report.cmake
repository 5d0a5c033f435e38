# Runs `distill` (a run or a sweep) at a small size, then checks its outputs: every file is there,
# metrics.json parses and has the expected fields, and report.html renders in headless Chromium with
# every expected figure (check_in_chromium.cmake).
#
# Every EXPECT_JSON field must exist and hold a value (not null: NaN is written as null).
#
#   cmake -DDISTILL=<exe> -DWORK_DIR=<dir> -DARGS="a,b" -DEXPECT_FILES="f1,f2" -DEXPECT_JSON="models.relu_student.analysis.l0,…"
#         -DEXPECT_IDS="id1,id2" [-DMETRICS=replication.json -DREPORT=replication.html] -P check_run_report.cmake
cmake_minimum_required(VERSION 3.21)

# -DREQUIRE_FILE=<path>[,<path>…]: skip (for ctest's SKIP_REGULAR_EXPRESSION) when one is absent, e.g.
# shared data.
string(REPLACE "," ";" required_files "${REQUIRE_FILE}")
include(${CMAKE_CURRENT_LIST_DIR}/../support/shared_data.cmake)
foreach(required IN LISTS required_files)
  sd_require_shared_file("${required}")
endforeach()
if(NOT METRICS)
  set(METRICS metrics.json)
endif()
if(NOT REPORT)
  set(REPORT report.html)
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
string(REPLACE "," ";" args "${ARGS}")
execute_process(COMMAND "${DISTILL}" -o "${WORK_DIR}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "distill ${args}:\n${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "distill failed (${rc}):\n${out}\n${err}")
endif()
if(NOT out MATCHES "report: ")
  message(FATAL_ERROR "distill did not say where the report is")
endif()

string(REPLACE "," ";" files "${EXPECT_FILES}")
foreach(f IN LISTS files)
  if(NOT EXISTS "${WORK_DIR}/${f}")
    message(FATAL_ERROR "distill did not write ${f}")
  endif()
endforeach()

file(READ "${WORK_DIR}/${METRICS}" metrics)
string(REPLACE "," ";" fields "${EXPECT_JSON}")
foreach(path IN LISTS fields)
  string(REPLACE "." ";" keys "${path}")
  string(JSON value ERROR_VARIABLE json_error GET "${metrics}" ${keys})
  if(json_error)
    message(FATAL_ERROR "${METRICS} lacks ${path}: ${json_error}")
  endif()
  string(JSON type TYPE "${metrics}" ${keys})
  if(type STREQUAL "NULL" OR value MATCHES "nan|inf")
    message(FATAL_ERROR "${METRICS} ${path} is ${value}: expected a value")
  endif()
  message(STATUS "${METRICS} ${path} = ${value}")
endforeach()

# -DEXPECT_TABLE="ROW|COLUMN|JSON.PATH[|SCALE]#…" with -DREPORT_NUMBERS=<report_numbers exe>: the numbers the
# report's tables print must be those of metrics.json (tests/report/report_numbers.cpp).
if(EXPECT_TABLE)
  string(REPLACE "#" ";" table_checks "${EXPECT_TABLE}")
  execute_process(COMMAND "${REPORT_NUMBERS}" "${WORK_DIR}/report.html" "${WORK_DIR}/metrics.json" ${table_checks}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "report tables against metrics.json:\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the report's tables disagree with metrics.json:\n${out}${err}")
  endif()
endif()

set(HTML "${WORK_DIR}/${REPORT}")
set(SCREENSHOT "${WORK_DIR}/${REPORT}.png")
include("${CMAKE_CURRENT_LIST_DIR}/../report/check_in_chromium.cmake")
