# Opens an HTML report in headless Chromium and checks that it really renders: a screenshot of a
# reasonable size, every expected element id in the DOM Chromium built, and no console messages or
# failed loads in Chromium's log.
#
#   cmake -DHTML=report.html -DSCREENSHOT=report.png -DEXPECT_IDS="id1;id2" -P check_in_chromium.cmake
#
# EXPECT_IDS may also be separated by commas (easier to pass through add_test). Optional:
# -DCHROMIUM=<executable> (default: chromium or chromium-browser on PATH), -DTIMEOUT=<seconds> per
# Chromium run (default 120). Without Chromium the script prints "SKIPPED: chromium not installed"
# and succeeds, for ctest's SKIP_REGULAR_EXPRESSION "SKIPPED:". It can also be include()d after
# setting the same variables.
cmake_minimum_required(VERSION 3.21)

foreach(required HTML SCREENSHOT)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "check_in_chromium: -D${required}=<path> is required")
  endif()
endforeach()
if(NOT DEFINED TIMEOUT)
  set(TIMEOUT 120)
endif()

if(NOT CHROMIUM)
  find_program(CHROMIUM NAMES chromium chromium-browser)
endif()
if(NOT CHROMIUM)
  message("SKIPPED: chromium not installed (neither chromium nor chromium-browser is on PATH)")
  return()
endif()

get_filename_component(html "${HTML}" ABSOLUTE)
get_filename_component(screenshot "${SCREENSHOT}" ABSOLUTE)
if(NOT EXISTS "${html}")
  message(FATAL_ERROR "check_in_chromium: ${html} does not exist")
endif()
string(REPLACE "," ";" expected_ids "${EXPECT_IDS}")

# A file URL: only the characters that would end or redirect a path need escaping.
set(url "${html}")
foreach(pair "%;%25" " ;%20" "#;%23" "?;%3F")
  list(GET pair 0 from)
  list(GET pair 1 to)
  string(REPLACE "${from}" "${to}" url "${url}")
endforeach()
set(url "file://${url}")

# Each run gets a fresh profile, so no earlier state (cache, crash flags, a lock) can change what it shows.
string(RANDOM LENGTH 12 ALPHABET "abcdefghijklmnopqrstuvwxyz0123456789" suffix)
set(temp_root "$ENV{TMPDIR}")
if(temp_root STREQUAL "")
  set(temp_root "/tmp")
endif()
set(profiles "${temp_root}/sd-chromium-check-${suffix}")
file(MAKE_DIRECTORY "${profiles}/screenshot" "${profiles}/dom")
get_filename_component(screenshot_dir "${screenshot}" DIRECTORY)
file(MAKE_DIRECTORY "${screenshot_dir}")
file(REMOVE "${screenshot}")

set(common_flags --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-dev-shm-usage
                 --enable-logging=stderr --v=0 --window-size=1280,6000)
message(STATUS "check_in_chromium: ${CHROMIUM} on ${url}")
execute_process(
  COMMAND "${CHROMIUM}" ${common_flags} "--user-data-dir=${profiles}/screenshot" "--screenshot=${screenshot}" "${url}"
  TIMEOUT ${TIMEOUT} RESULT_VARIABLE screenshot_result OUTPUT_VARIABLE screenshot_out ERROR_VARIABLE screenshot_log)
execute_process(
  COMMAND "${CHROMIUM}" ${common_flags} "--user-data-dir=${profiles}/dom" --dump-dom "${url}"
  TIMEOUT ${TIMEOUT} RESULT_VARIABLE dom_result OUTPUT_VARIABLE dom ERROR_VARIABLE dom_log)
file(REMOVE_RECURSE "${profiles}")

set(problems "")  # one "\n- <problem>" each: a string, as log lines may hold semicolons
if(NOT screenshot_result EQUAL 0)
  string(APPEND problems "\n- the screenshot run failed: ${screenshot_result}")
endif()
if(NOT dom_result EQUAL 0)
  string(APPEND problems "\n- the --dump-dom run failed: ${dom_result}")
endif()

if(NOT EXISTS "${screenshot}")
  string(APPEND problems "\n- no screenshot was written to ${screenshot}")
else()
  file(SIZE "${screenshot}" screenshot_bytes)
  if(screenshot_bytes LESS 10240)
    string(APPEND problems "\n- the screenshot ${screenshot} has only ${screenshot_bytes} bytes (an empty page?)")
  endif()
  message(STATUS "check_in_chromium: screenshot ${screenshot}: ${screenshot_bytes} bytes")
endif()

if(dom STREQUAL "")
  string(APPEND problems "\n- --dump-dom printed nothing")
endif()
set(found_ids "")
foreach(id IN LISTS expected_ids)
  string(FIND "${dom}" "id=\"${id}\"" at)
  if(at EQUAL -1)
    string(APPEND problems "\n- the DOM has no element with id=\"${id}\"")
  else()
    list(APPEND found_ids "${id}")
  endif()
endforeach()
list(LENGTH found_ids found_count)
list(JOIN found_ids ", " found_list)
message(STATUS "check_in_chromium: ${found_count} expected ids found in the DOM: ${found_list}")
string(FIND "${dom}" "<script" script_at)
if(NOT script_at EQUAL -1)
  string(APPEND problems "\n- the DOM contains a <script> element, but a report must run no JavaScript")
endif()

# Chromium logs every console message of the page as "...:CONSOLE...] "<text>", source: ...", at
# INFO level whatever the message's own level: console.error("x") appears as just "x", and a blocked
# load as "Loading ... violates the following Content Security Policy ...". A report runs no script,
# so any console line at all means something went wrong. Other log lines (dbus, GPU, sandbox
# warnings) are the browser's own noise and are ignored.
# Semicolons are masked while the lines pass through CMake lists, which would split at them.
string(CONCAT log "${screenshot_log}" "\n" "${dom_log}")
string(REPLACE ";" "<semicolon>" log "${log}")
string(REGEX MATCHALL "[^\n]*CONSOLE[^\n]*" console_lines "${log}")
if(console_lines)
  list(JOIN console_lines "\n  " console_text)
  string(REPLACE "<semicolon>" ";" console_text "${console_text}")
  string(APPEND problems "\n- the page logged console messages (errors, blocked loads, or any script output):\n  ${console_text}")
endif()
string(REGEX MATCHALL "[^\n]*(Failed to load|net::ERR)[^\n]*" load_failures "${log}")
if(load_failures)
  list(JOIN load_failures "\n  " failure_text)
  string(REPLACE "<semicolon>" ";" failure_text "${failure_text}")
  string(APPEND problems "\n- Chromium reported failed loads:\n  ${failure_text}")
endif()
list(LENGTH expected_ids expected_count)
message(STATUS "check_in_chromium: checked the exit codes, the screenshot size (>= 10 kB), ${expected_count} "
               "expected ids, the absence of <script>, console messages and failed loads")

if(NOT problems STREQUAL "")
  message(FATAL_ERROR "check_in_chromium: ${html} did not render cleanly:${problems}")
endif()
message(STATUS "check_in_chromium: ${html} rendered cleanly")
