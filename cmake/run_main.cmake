# Quick start, command 1: cmake -P cmake/run_main.cmake [-- args for the program]
# Installs missing Debian packages, builds the main job and runs it on its embedded default: the
# `distill` program on planted-feature data (a ReLU student, its GELU twin and an SAE baseline, every
# analysis of the post), which writes build/distill_out/report.html. Arguments after "--" go to distill.
cmake_minimum_required(VERSION 3.21)
get_filename_component(SD_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
include(${CMAKE_CURRENT_LIST_DIR}/ensure_debian_packages.cmake)

sd_ensure_debian_packages(make libeigen3-dev nlohmann-json3-dev libxxhash-dev libcli11-dev)
sd_build(${SD_ROOT} ${SD_ROOT}/build TARGETS distill
  CONFIGURE_ARGS -DSD_BUILD_TESTS=OFF -DSD_BUILD_BENCHMARKS=OFF -DSD_BUILD_EXAMPLES=ON)

# Arguments after "--" on the cmake -P command line go to the program.
set(program_args "")
set(after_separator FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(after_separator)
    list(APPEND program_args "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(after_separator TRUE)
  endif()
endforeach()
if(NOT program_args MATCHES "(^|;)(-o|--out)(;|=|$)")
  list(APPEND program_args --out ${SD_ROOT}/build/distill_out)
endif()
execute_process(COMMAND ${SD_ROOT}/build/examples/distill ${program_args} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "distill failed (${rc})")
endif()
