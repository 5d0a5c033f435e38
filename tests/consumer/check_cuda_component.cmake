# The CUDA headers install as an opt-in component: a plain `cmake --install` leaves them out (and
# find_package(sparse_distill COMPONENTS cuda) then says how to add them); `--component cuda` adds the
# headers and, where the CUDA toolkit is found, the sparse_distill::cuda target.
# Arguments: -DSOURCE_DIR=<project> -DWORK_DIR=<scratch folder>
cmake_minimum_required(VERSION 3.21)
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lib -DSD_BUILD_TESTS=OFF -DSD_BUILD_EXAMPLES=OFF -DSD_BUILD_BENCHMARKS=OFF
    -DCMAKE_INSTALL_PREFIX=${prefix})
run(${CMAKE_COMMAND} --install ${WORK_DIR}/lib)
set(headers ${prefix}/include/sparse_distill/backend)
foreach(present cpu.hpp ops.hpp policy.hpp cpu/matmul.hpp)
  if(NOT EXISTS ${headers}/${present})
    message(FATAL_ERROR "a plain install lacks backend/${present}")
  endif()
endforeach()
foreach(absent cuda.hpp cuda)
  if(EXISTS ${headers}/${absent})
    message(FATAL_ERROR "a plain install has backend/${absent}: the CUDA headers are opt-in")
  endif()
endforeach()

# A consumer that asks for the component before it is installed is told how to install it.
file(WRITE ${WORK_DIR}/consumer/CMakeLists.txt
     "cmake_minimum_required(VERSION 3.21)\nproject(uses_cuda LANGUAGES CXX)\n"
     "find_package(sparse_distill REQUIRED COMPONENTS cuda)\nmessage(STATUS \"sparse_distill::cuda found\")\n")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${WORK_DIR}/consumer -B ${WORK_DIR}/consumer/build -DCMAKE_PREFIX_PATH=${prefix}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT "${out}${err}" MATCHES "--component cuda")
  message(FATAL_ERROR "find_package(sparse_distill COMPONENTS cuda) without the component did not say how to install it:\n${out}${err}")
endif()

run(${CMAKE_COMMAND} --install ${WORK_DIR}/lib --component cuda)
foreach(present cuda.hpp cuda/matmul.cuh cuda/step_replay.cuh)
  if(NOT EXISTS ${headers}/${present})
    message(FATAL_ERROR "--component cuda did not install backend/${present}")
  endif()
endforeach()
find_program(nvcc nvcc PATHS /usr/local/cuda/bin)
if(nvcc)
  file(REMOVE_RECURSE ${WORK_DIR}/consumer/build)
  run(${CMAKE_COMMAND} -S ${WORK_DIR}/consumer -B ${WORK_DIR}/consumer/build -DCMAKE_PREFIX_PATH=${prefix})
  message(STATUS "find_package(sparse_distill COMPONENTS cuda) found sparse_distill::cuda (nvcc: ${nvcc})")
else()
  message(STATUS "no nvcc here: the installed cuda component was not configured against a CUDA toolkit")
endif()
