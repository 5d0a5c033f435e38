# `distill tokenize`: every text of GPT-2's reference encodings.json, piped through the program, gives
# exactly its ids (one line, single spaces), and the ids piped through --decode give exactly the text;
# unreadable tokenizer files exit 1 with the reader's message, ids that are not of the vocabulary exit 2.
#
#   cmake -DDISTILL=<exe> -DWORK_DIR=<dir> -DREFERENCE=<…/reference/gpt2_tokenizer> -P check_tokenize.cmake
cmake_minimum_required(VERSION 3.21)

include(${CMAKE_CURRENT_LIST_DIR}/../support/shared_data.cmake)
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(failures "")

# run_tokenize(<prefix> <stdin file> <args...>): sets <prefix>_rc, <prefix>_out and <prefix>_err.
function(run_tokenize prefix input)
  execute_process(COMMAND "${DISTILL}" tokenize ${ARGN} INPUT_FILE "${input}" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err TIMEOUT 60)
  set(${prefix}_rc "${rc}" PARENT_SCOPE)
  set(${prefix}_out "${out}" PARENT_SCOPE)
  set(${prefix}_err "${err}" PARENT_SCOPE)
endfunction()

# expect_failure(<exit code> <regex for stderr> <stdin text> <args...>)
function(expect_failure code pattern input)
  file(WRITE "${WORK_DIR}/stdin.txt" "${input}")
  run_tokenize(r "${WORK_DIR}/stdin.txt" ${ARGN})
  if(NOT r_rc STREQUAL "${code}" OR NOT r_err MATCHES "${pattern}")
    set(failures "${failures}\n  distill tokenize ${ARGN} < '${input}': exit '${r_rc}' (expected ${code}), stderr '${r_err}' "
                 "(expected /${pattern}/)" PARENT_SCOPE)
  else()
    message(STATUS "ok (exit ${r_rc}): distill tokenize ${ARGN}: ${r_err}")
  endif()
endfunction()

# Unreadable tokenizer files: the io_error message (file: field: problem), exit 1.
expect_failure(1 "absent.json: file: does not exist" "text" --tokenizer "${WORK_DIR}/absent.json")
file(WRITE "${WORK_DIR}/wordpiece.json" [=[{"model": {"type": "WordPiece", "vocab": {}}}]=])
expect_failure(1 "wordpiece.json: model.type: expected \"BPE\", found \"WordPiece\"" "text" --tokenizer "${WORK_DIR}/wordpiece.json")
file(WRITE "${WORK_DIR}/broken.json" "{\"model\": ")
expect_failure(1 "broken.json: file: expected JSON" "text" --tokenizer "${WORK_DIR}/broken.json")
expect_failure(2 "--tokenizer is required" "text")

sd_require_shared_file("${REFERENCE}/tokenizer.json")
sd_require_shared_file("${REFERENCE}/encodings.json")
set(tokenizer "${REFERENCE}/tokenizer.json")

# Ids outside the vocabulary, and words that are no ids: exit 2 naming them.
expect_failure(2 "token id 50257 is outside the vocabulary of .*tokenizer.json \\(vocab_size 50257: ids 0..50256\\)"
               "15496 50257" --tokenizer "${tokenizer}" --decode)
expect_failure(2 "token id -1 is outside the vocabulary" "-1" --tokenizer "${tokenizer}" --decode)
expect_failure(2 "'12x' on stdin is not a token id" "15496 12x" --tokenizer "${tokenizer}" --decode)

file(READ "${REFERENCE}/encodings.json" encodings)
string(JSON count LENGTH "${encodings}")
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON text GET "${encodings}" ${i} text)
  string(JSON id_count LENGTH "${encodings}" ${i} ids)
  set(expected "")
  if(id_count GREATER 0)
    math(EXPR last_id "${id_count} - 1")
    foreach(k RANGE ${last_id})
      string(JSON id GET "${encodings}" ${i} ids ${k})
      if(k EQUAL 0)
        set(expected "${id}")
      else()
        string(APPEND expected " ${id}")
      endif()
    endforeach()
  endif()
  string(SUBSTRING "${text}" 0 40 shown)

  file(WRITE "${WORK_DIR}/text_${i}.txt" "${text}")
  run_tokenize(encode "${WORK_DIR}/text_${i}.txt" --tokenizer "${tokenizer}")
  if(NOT encode_rc EQUAL 0 OR NOT encode_out STREQUAL "${expected}\n")
    string(APPEND failures "\n  text ${i} '${shown}': exit ${encode_rc}, ids '${encode_out}', expected '${expected}' ${encode_err}")
    continue()
  endif()

  file(WRITE "${WORK_DIR}/ids_${i}.txt" "${expected}\n")
  run_tokenize(decode "${WORK_DIR}/ids_${i}.txt" --tokenizer "${tokenizer}" --decode)
  if(NOT decode_rc EQUAL 0 OR NOT decode_out STREQUAL "${text}")
    string(APPEND failures "\n  text ${i} '${shown}': --decode exit ${decode_rc}, text '${decode_out}' ${decode_err}")
    continue()
  endif()
  message(STATUS "ok: text ${i} '${shown}': ${id_count} ids and back")
endforeach()

if(failures)
  message(FATAL_ERROR "distill tokenize:${failures}")
endif()
