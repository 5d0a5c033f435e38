# `distill lm --model DIR` on Hugging Face folders (issue 15): the tiny GPT-Neo, GPT-2 and Llama
# models written by `transformers` (shared data) run end to end on token ids, write the loss table
# and metrics, and the GPT-Neo report renders in Chromium with every figure; a GPT-2-vocabulary
# model made here runs on text through GPT-2's tokenizer.json, with --eval-text; bad inputs exit 1
# or 2 naming the file and the field.
#
# With -DPREDICT=<predict_student> and -DPYTHON=<python3 with numpy>: every layer saved with --save in
# each format is read back by read_exports.py (numpy only: not the writer) and must compute what the
# library's own reader and predict compute on the reference's MLP inputs (ReLU and TopK students).
#
#   cmake -DDISTILL=<distill> -DMAKE_FILES=<make_train_files> -DMAKE_GPT2=<make_random_gpt2> -DWORK_DIR=<dir>
#         -DSHARED_DATA=<shared/data> [-DPREDICT=<predict_student> -DPYTHON=<python3>] -P check_lm_hf.cmake
cmake_minimum_required(VERSION 3.21)
include(${CMAKE_CURRENT_LIST_DIR}/expect_distill.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/../support/shared_data.cmake)
set(reference "${SHARED_DATA}/reference")
sd_require_shared_file("${reference}/mlp_gptneo/model.safetensors")
sd_require_shared_file("${reference}/gpt2_tokenizer/tokenizer.json")
sd_require_shared_file("${SHARED_DATA}/tinystories/tinystories_train_head.txt")

file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND "${MAKE_FILES}" "${WORK_DIR}/files" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_train_files failed (${rc})")
endif()
set(files "${WORK_DIR}/files")
# A GPT-2 folder with GPT-2's vocabulary and random weights of width 8 (tied embeddings).
execute_process(COMMAND "${MAKE_GPT2}" "${files}/gpt2_vocab" 8 2 2 16 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_random_gpt2 failed (${rc})")
endif()
# Small runs: 8192 training tokens per layer, d_sae = 4 × d_mlp.
set(small -q --tokens 8192 --batch 256)
set(lm lm --example-features 2)

# Every family on token ids; the held-out part is --eval-token-ids for GPT-Neo, the last tenth otherwise.
foreach(family gptneo gpt2 llama)
  set(extra "")
  if(family STREQUAL "gptneo")
    set(extra --eval-token-ids ${files}/eval_ids.npy)
  endif()
  expect(0 "layer +clean.*\n0 +[0-9.]+ +[0-9.]+.*\n1 +[0-9.]+" ${small} -o ${WORK_DIR}/${family} ${lm} --model ${reference}/mlp_${family}
         --token-ids ${files}/token_ids.npy --window 32 ${extra})
  if(NOT EXISTS "${WORK_DIR}/${family}/metrics.json")
    set(failures "${failures}\n  ${family}: no metrics.json")
    continue()
  endif()
  file(READ "${WORK_DIR}/${family}/metrics.json" metrics)
  foreach(path "clean_loss" "layers;1;losses;student" "layers;0;losses;recovered_vs_zero" "layers;1;analysis;l0")
    string(JSON value ERROR_VARIABLE json_error GET "${metrics}" ${path})
    if(json_error OR value MATCHES "null|nan|inf")
      set(failures "${failures}\n  ${family}: metrics.json ${path} is '${value}' ${json_error}")
    endif()
  endforeach()
  string(JSON held GET "${metrics}" held_out_tokens)
  if(family STREQUAL "gptneo" AND NOT held EQUAL 2048)
    set(failures "${failures}\n  gptneo: held_out_tokens ${held}, expected the 2048 of --eval-token-ids")
  endif()
endforeach()

# The harvest streamed to shards (--harvest-dir), trained from them, then the same shards by `distill train`.
expect(0 "harvest: .*harvest" ${small} -o ${WORK_DIR}/streamed ${lm} --model ${reference}/mlp_llama --token-ids ${files}/token_ids.npy
       --window 32 --layers 1 --harvest-dir ${WORK_DIR}/streamed/harvest)
foreach(name layer1_mlp_in.00000.npy layer1_mlp_out.00000.npy tokens.npy positions.npy)
  if(NOT EXISTS "${WORK_DIR}/streamed/harvest/${name}")
    set(failures "${failures}\n  --harvest-dir wrote no ${name}")
  endif()
endforeach()
expect(0 "trained 4 steps" -q --d-sae 64 --batch 64 -o ${WORK_DIR}/from_shards train --inputs "${WORK_DIR}/streamed/harvest/layer1_mlp_in.*.npy" --targets "${WORK_DIR}/streamed/harvest/layer1_mlp_out.*.npy" --steps 4)

# A GPT-2-vocabulary model on text, through GPT-2's tokenizer, evaluated on a separate text.
set(text "${SHARED_DATA}/tinystories/tinystories_train_head.txt")
file(READ "${text}" story_text LIMIT 3000)
file(WRITE "${WORK_DIR}/eval.txt" "${story_text}")
expect(0 "layer +clean" ${small} -o ${WORK_DIR}/gpt2_text lm --model ${files}/gpt2_vocab
       --tokenizer ${reference}/gpt2_tokenizer/tokenizer.json --text ${text} --eval-text ${WORK_DIR}/eval.txt --window 64 --layers 1)

# Bad inputs.
expect(2 "bad_ids.npy: token 5: id 64 outside the model's vocabulary \\[0, 64\\)"
       ${small} -o ${WORK_DIR}/bad lm --model ${reference}/mlp_llama --token-ids ${files}/bad_ids.npy --window 8)
expect(2 "tokenizer.json: vocabulary: 50257 tokens, but .*config.json has vocab_size 64"
       ${small} -o ${WORK_DIR}/bad lm --model ${reference}/mlp_gpt2 --tokenizer ${reference}/gpt2_tokenizer/tokenizer.json --text ${text})
expect(2 "--text needs a tokenizer" ${small} -o ${WORK_DIR}/bad lm --model ${reference}/mlp_gpt2 --text ${text})
expect(2 "give --model DIR .* or --checkpoint FILE" ${small} -o ${WORK_DIR}/bad lm --token-ids ${files}/token_ids.npy)
expect(2 "give --text FILE or --token-ids FILE, one of them"
       ${small} -o ${WORK_DIR}/bad lm --model ${reference}/mlp_gpt2 --token-ids ${files}/token_ids.npy --text ${text})
expect(1 "config.json: file: not found" ${small} -o ${WORK_DIR}/bad lm --model ${files}/acts --token-ids ${files}/token_ids.npy)
expect(1 "shard_0.npy: dtype: expected integer token ids, found f32"
       ${small} -o ${WORK_DIR}/bad lm --model ${reference}/mlp_gpt2 --token-ids ${files}/acts/shard_0.npy --window 32)
expect(2 "--save-format circuit-tracer: a transcoder set has every layer 0..1; distil them all"
       ${small} -o ${WORK_DIR}/bad ${lm} --model ${reference}/mlp_gpt2 --token-ids ${files}/token_ids.npy --window 32 --layers 1
       --save ${WORK_DIR}/bad_save --save-format circuit-tracer)
expect(2 "--save-format saelens: SAELens coders apply ReLU: a gelu student"
       ${small} --act gelu -o ${WORK_DIR}/bad ${lm} --model ${reference}/mlp_gpt2 --token-ids ${files}/token_ids.npy --window 32
       --save ${WORK_DIR}/bad_save)
if(EXISTS "${WORK_DIR}/bad")
  set(failures "${failures}\n  a refused run left its output folder ${WORK_DIR}/bad")
endif()

# Exports: the same run (same seed, so the same students) saved in every format, read back independently.
if(PREDICT AND PYTHON)
  set(export_run -q --tokens 2048 --batch 256 -o ${WORK_DIR}/export_run)
  foreach(arch relu topk)
    set(arch_options "")
    if(arch STREQUAL "topk")
      set(arch_options --arch topk --k 8)
    endif()
    foreach(format native saelens sparsify circuit-tracer)
      expect(0 "students \\(${format}\\)" ${export_run} ${arch_options} lm --model ${reference}/mlp_gpt2
             --token-ids ${files}/token_ids.npy --window 32 --save ${WORK_DIR}/${arch}_${format} --save-format ${format})
    endforeach()
    foreach(layer 0 1)
      set(expected "${WORK_DIR}/${arch}_expected_${layer}.npy")
      execute_process(COMMAND "${PREDICT}" "${WORK_DIR}/${arch}_native/layer_${layer}" "${reference}/mlp_gpt2/mlp${layer}_in.npy"
                              "${expected}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
      if(NOT rc EQUAL 0)
        set(failures "${failures}\n  predict_student ${arch} layer ${layer}: ${out}${err}")
        continue()
      endif()
      foreach(format saelens sparsify circuit-tracer)
        execute_process(COMMAND "${PYTHON}" "${CMAKE_CURRENT_LIST_DIR}/read_exports.py" ${format} "${WORK_DIR}/${arch}_${format}" ${layer}
                                "${reference}/mlp_gpt2/mlp${layer}_in.npy" "${expected}" 2
                        RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
        message(STATUS "${arch}: ${out}${err}")
        if(NOT rc EQUAL 0)
          set(failures "${failures}\n  ${arch} ${format} layer ${layer} read back by numpy: ${out}${err}")
        endif()
      endforeach()
    endforeach()
  endforeach()
else()
  message(STATUS "exports not read back: no PREDICT or PYTHON given")
endif()

if(failures)
  message(FATAL_ERROR "distill lm on Hugging Face models:${failures}")
endif()

# The GPT-Neo report, in Chromium, with both layers' figures and top-activating contexts.
set(HTML "${WORK_DIR}/gptneo/report.html")
set(SCREENSHOT "${WORK_DIR}/gptneo/report.png")
set(EXPECT_IDS "fig2-layer0,fig3-layer0,fig4-layer1,sec-top-activating-contexts-fig-6-layer-1")
include("${CMAKE_CURRENT_LIST_DIR}/../report/check_in_chromium.cmake")
