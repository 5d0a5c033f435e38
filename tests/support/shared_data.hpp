#pragma once
// Locating ../shared/data (the project's read-only reference data). A user's clone has no
// ../shared: tests that need it call SD_REQUIRE_SHARED_DATA and are skipped with a message.
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

inline bool shared_data_available(const std::filesystem::path& relative) {
    return std::filesystem::exists(shared_data_dir() / relative);
}

}  // namespace sd_test

/// Skips the rest of the current test case, saying so, when shared/data/<relative> is absent.
#define SD_REQUIRE_SHARED_DATA(relative)                                                       \
    do {                                                                                       \
        if (!sd_test::shared_data_available(relative)) {                                      \
            std::cout << "[skipped] " << __FILE__ << ": needs " << (sd_test::shared_data_dir() / (relative)).string() \
                      << " (the project's ../shared/data, absent in a user's clone)\n";      \
            MESSAGE("skipped: shared data " << (relative) << " not found");                   \
            return;                                                                            \
        }                                                                                      \
    } while (0)
