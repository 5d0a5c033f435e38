# The CUDA headers are opt-in: compiled by a plain C++ compiler, backend/cuda.hpp must stop with its
# message (naming nvcc and SD_ENABLE_CUDA), and the umbrella header must compile without any CUDA.
# Arguments: -DCXX=<compiler> -DINCLUDE_DIR=<include/> -DWORK_DIR=<scratch folder>
file(MAKE_DIRECTORY ${WORK_DIR})
file(WRITE ${WORK_DIR}/uses_cuda.cpp "#include <sparse_distill/backend/cuda.hpp>\nint main() { return 0; }\n")
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${INCLUDE_DIR} ${WORK_DIR}/uses_cuda.cpp
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "backend/cuda.hpp compiled without nvcc: it must refuse")
endif()
if(NOT err MATCHES "needs nvcc" OR NOT err MATCHES "SD_ENABLE_CUDA")
  message(FATAL_ERROR "backend/cuda.hpp failed without its message:\n${err}")
endif()
file(STRINGS ${INCLUDE_DIR}/sparse_distill.hpp umbrella REGEX "cuda")
string(FIND "${umbrella}" "#include" included)
if(NOT included EQUAL -1)
  message(FATAL_ERROR "the umbrella header includes a CUDA header: ${umbrella}")
endif()
message(STATUS "backend/cuda.hpp refuses a plain C++ compiler with its message; the umbrella has no CUDA include")
