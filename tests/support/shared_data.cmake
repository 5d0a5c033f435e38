# sd_require_shared_file(<path>): for test scripts that need ../shared/data (absent in a user's clone).
# When <path> is missing, the script prints "SKIPPED: ..." and returns (the test's
# SKIP_REGULAR_EXPRESSION "SKIPPED:" reports it as skipped, not passed), or, with the environment
# variable SD_REQUIRE_SHARED=1 (set by CI, which has the data), fails.
macro(sd_require_shared_file path)
  if(NOT EXISTS "${path}")
    if("$ENV{SD_REQUIRE_SHARED}" STREQUAL "1")
      message(FATAL_ERROR "${path} not found, and SD_REQUIRE_SHARED=1 says the shared data must be here")
    endif()
    message("SKIPPED: ${path} not found (the project's ../shared/data, absent in a user's clone)")
    return()
  endif()
endmacro()
