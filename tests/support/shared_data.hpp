#pragma once
// Locating ../shared/data (the project's read-only reference data). A user's clone has no
// ../shared: tests that need it call SD_REQUIRE_SHARED_DATA and are reported skipped.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

namespace sd_test {

/// Root of the shared reference data: $SD_SHARED_DATA if set, else the path CMake baked in.
inline std::filesystem::path shared_data_dir() {
    if (const char* env = std::getenv("SD_SHARED_DATA")) return env;
#ifdef SD_SHARED_DATA_DIR
    return SD_SHARED_DATA_DIR;
#else
    return "../shared/data";
#endif
}

/// Whether a missing shared file is an error (SD_REQUIRE_SHARED=1) rather than a reason to skip.
inline bool shared_data_required() {
    const char* required = std::getenv("SD_REQUIRE_SHARED");
    return required && std::string(required) == "1";
}

inline bool shared_data_available(const std::filesystem::path& relative) {
    return std::filesystem::exists(shared_data_dir() / relative);
}

}  // namespace sd_test

/// Skips the rest of the current test case when shared/data/<relative> is absent: prints
/// "SD_SKIPPED: ..." (the suites' SKIP_REGULAR_EXPRESSION, so ctest reports the case as skipped, not
/// passed) and returns. With the environment variable SD_REQUIRE_SHARED=1 (CI, which has the data) a
/// missing file fails the test case instead.
#define SD_REQUIRE_SHARED_DATA(relative)                                                                        \
    do {                                                                                                        \
        if (!sd_test::shared_data_available(relative)) {                                                       \
            const std::string sd_missing_ = (sd_test::shared_data_dir() / (relative)).string();                \
            if (sd_test::shared_data_required()) FAIL("SD_REQUIRE_SHARED=1 but " << sd_missing_ << " is missing"); \
            std::cout << "SD_SKIPPED: " << __FILE__ << ": needs " << sd_missing_                                 \
                      << " (the project's ../shared/data, absent in a user's clone)" << std::endl;              \
            return;                                                                                             \
        }                                                                                                       \
    } while (0)
