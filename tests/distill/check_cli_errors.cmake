# Bad flags and impossible values must give a clear message and a non-zero exit (2 for settings, 1
# for files), never a crash: each case runs `distill` and checks its exit code and its message.
#
#   cmake -DDISTILL=<distill executable> -DWORK_DIR=<dir> [-DSHARED_DATA=<../shared/data>] [-DDISTILL_HAS_CUDA=ON]
#         -P check_cli_errors.cmake
cmake_minimum_required(VERSION 3.21)

include(${CMAKE_CURRENT_LIST_DIR}/expect_distill.cmake)

set(out "${WORK_DIR}/cli_errors")
expect(0 "--l1-reduction" --help)
expect(0 "--l1-values" sweep --help)
expect(0 "the default" run --help)
expect(2 "--backend" --backend tpu -o ${out})
if(NOT DISTILL_HAS_CUDA)
  # A build without CUDA names the build option that adds it, on every subcommand.
  expect(2 "built without CUDA; configure with -DSD_ENABLE_CUDA=ON" --backend cuda -o ${out})
  expect(2 "-DSD_ENABLE_CUDA=ON" sweep --backend cuda_tf32 --l1-values 0.1 -o ${out})
  expect(2 "-DSD_ENABLE_CUDA=ON" train --backend cuda_bf16 --teacher ${CMAKE_CURRENT_LIST_FILE} --inputs ${CMAKE_CURRENT_LIST_FILE} -o ${out})
endif()
# --backend cpu_onednn and cpu_bf16: refused with what to install in a build without oneDNN; with it, a small
# run trains on cpu_onednn, and on cpu_bf16 where the CPU has AVX512-BF16 (refused naming the instruction
# where it has not).
if(NOT DISTILL_HAS_BF16)
  expect(2 "built without oneDNN; install libdnnl-dev" --backend cpu_bf16 -o ${out})
  expect(2 "built without oneDNN; install libdnnl-dev" --backend cpu_onednn -o ${out})
else()
  expect(0 "relu_student" --backend cpu_onednn -q --tokens 20480 --d-sae 128 --no-sae --no-gelu-student --eval-tokens 1024
         -o ${out}_onednn)
  file(READ /proc/cpuinfo cpuinfo)
  if(cpuinfo MATCHES "avx512_bf16")
    expect(0 "relu_student" --backend cpu_bf16 -q --tokens 20480 --d-sae 128 --no-sae --no-gelu-student --eval-tokens 1024
           -o ${out}_bf16)
  else()
    expect(2 "without AVX512-BF16" --backend cpu_bf16 -o ${out})
  endif()
endif()
expect(2 "--no-such-flag" --no-such-flag)
expect(2 "--probability" --probability 2 -o ${out})
expect(2 "--d-sae" --d-sae -5 -o ${out})
expect(2 "--act" --act tanh -o ${out})
expect(2 "--tokens" --tokens abc -o ${out})
expect(2 "tokens \\(10\\) must be at least one batch" --tokens 10 --batch 256 --no-sae --no-gelu-student -o ${out})
expect(2 "magnitudes must satisfy" --magnitude-min 2 --magnitude-max 1 -o ${out})
expect(2 "tied_decoder" --pre-bias tied_decoder --no-biases -o ${out})
expect(2 "--l1-values" sweep --l1-values 0.1,-1 -o ${out})
expect(2 "--threads" --threads 100000 -o ${out})
expect(2 "--seed" --seed -1 -o ${out})
expect(2 "--threshold" --threshold -0.5 -o ${out})
expect(2 "--teacher-bias-std: must lie in \\[0, ∞\\) \\(got nan\\)" --teacher-bias-std nan --no-sae --no-gelu-student -o ${out})
expect(2 "lr" sweep --l1-values 0.1 --lr nan -o ${out}/sweep_nan)
# The architectures' options: each refused where it does not apply, naming it.
expect(2 "--arch" --arch sparsemax -o ${out})
expect(2 "--k is needed" --arch topk -o ${out})
expect(2 "--k" --arch topk --k 0 -o ${out})
expect(2 "--k 2000 exceeds --d-sae 1024" --arch batchtopk --k 2000 --d-sae 1024 -o ${out})
expect(2 "--k applies to --arch topk and batchtopk" --arch relu --k 4 -o ${out})
expect(2 "--bandwidth" --arch jumprelu --bandwidth 0 -o ${out})
expect(2 "--bandwidth applies to --arch jumprelu" --arch topk --k 4 --bandwidth 0.1 -o ${out})
expect(2 "--l1 applies to relu and gelu students" --arch topk --k 4 --l1 0.1 -o ${out})
expect(2 "--l0-coeff applies to --arch jumprelu" --l0-coeff 0.1 -o ${out})
expect(2 "--auxk-alpha applies to --arch topk and batchtopk" --arch jumprelu --auxk-alpha 0.03 -o ${out})
expect(2 "--act gelu conflicts with --arch" --arch topk --k 4 --act gelu -o ${out})
expect(2 "--skip-init-scale needs --skip" --skip-init-scale 0.1 -o ${out})
# Ranges read as intervals, not "0.000000 to 0.999999" or a 309-digit maximum.
expect(2 "--beta1: must lie in \\[0, 1\\) \\(got 1\\)" --beta1 1 -o ${out})
expect(2 "--eps: must lie in \\(0, ∞\\) \\(got 0\\)" --eps 0 -o ${out})
expect(2 "--held-out: must lie in \\(0, 1\\) \\(got 1\\)" lm --checkpoint ${CMAKE_CURRENT_LIST_FILE} --tokenizer ${CMAKE_CURRENT_LIST_FILE} --text ${CMAKE_CURRENT_LIST_FILE} --held-out 1 -o ${out})
# Sizes that cannot fit are refused with the estimate before anything is allocated.
expect(2 "needs about [0-9.e+]+ GiB .*more than this machine's" --d-sae 2147483648 --no-sae --no-gelu-student -o ${out})
expect(2 "needs about [0-9.e+]+ GiB" --tokens 2000000000 --batch 1000000000 --no-sae --no-gelu-student -o ${out})
# Adam outside β1² < β2 is warned about, and the divergence it causes stops the run (exit 1), not a
# finished run with a meaningless student.
expect(1 "outside Adam's stable range.*step [0-9]+: loss: .*more than 10000 times the run's first loss"
       --beta1 0.999999 --beta2 0 --tokens 256000 --batch 256 --d-sae 64 --no-sae --no-gelu-student --eval-tokens 256 -q
       -o ${WORK_DIR}/unstable_adam)
# A token count that is not a multiple of the batch trains full batches, and says so.
expect(0 "--tokens 300 is not a multiple of --batch 256: each model trains 1 full batches = 256 tokens"
       --tokens 300 --batch 256 --d-sae 16 --no-sae --no-gelu-student --eval-tokens 64 -q -o ${WORK_DIR}/partial_batch)
if(EXISTS "${out}/sweep_nan")
  set(failures "${failures}\n  a sweep with bad settings created its output folder before checking them")
endif()
file(MAKE_DIRECTORY "${WORK_DIR}")
file(WRITE "${WORK_DIR}/a_file" "not a folder")
expect(1 "a_file" --tokens 256 --batch 256 --no-sae --no-gelu-student --eval-tokens 64 -q -o "${WORK_DIR}/a_file/out")

# train mode: option combinations are refused before any file is read (exit 2, the option named);
# unreadable files exit 1 with the reader's "<file>: <field>: <problem>" message.
set(a_file "${WORK_DIR}/a_file")
set(train_out -o ${out}/train)
expect(2 "--teacher FILE" train --inputs ${a_file} ${train_out})
expect(2 "--inputs needs" train --teacher ${a_file} ${train_out})
expect(2 "--teacher and --targets exclude" train --teacher ${a_file} --targets ${a_file} --inputs ${a_file} ${train_out})
expect(2 "--targets has 2 files for 1 --inputs" train --targets ${a_file} ${a_file} --inputs ${a_file} ${train_out})
expect(2 "--save-format" train --teacher ${a_file} --inputs ${a_file} --save ${out}/s --save-format onnx ${train_out})
expect(2 "--dtype" train --teacher ${a_file} --inputs ${a_file} --dtype half ${train_out})
expect(2 "--teacher-format" train --teacher ${a_file} --inputs ${a_file} --teacher-format onnx ${train_out})
expect(2 "--steps" train --teacher ${a_file} --inputs ${a_file} --steps 0 ${train_out})
expect(2 "--save-format saelens: SAELens coders apply ReLU: a gelu student cannot be written"
       --act gelu train --teacher ${a_file} --inputs ${a_file} --save ${out}/s ${train_out})
expect(2 "--save-format sparsify: .*learned pre-bias"
       --pre-bias learned train --teacher ${a_file} --inputs ${a_file} --save ${out}/s --save-format sparsify ${train_out})
expect(2 "--act gelu conflicts with --init-student" --act gelu train --teacher ${a_file} --inputs ${a_file} --init-student ${a_file} ${train_out})
expect(1 "a_file: header length: header of [0-9]+ bytes" train --teacher ${a_file} --inputs ${a_file} ${train_out})
expect(1 "does-not-exist.safetensors" train --teacher ${WORK_DIR}/does-not-exist.safetensors --inputs ${a_file} ${train_out})
set(train_step "${SHARED_DATA}/reference/train_step")
if(EXISTS "${train_step}/teacher.safetensors" AND EXISTS "${SHARED_DATA}/reference/mlp_gpt2/gauss_x.npy")
  set(teacher --teacher ${train_step}/teacher.safetensors)
  expect(1 "a_file: magic" train ${teacher} --inputs ${a_file} ${train_out})
  expect(1 "gauss_x.npy: shape: expected 16 columns \\(the teacher's d_model"
         train ${teacher} --inputs ${SHARED_DATA}/reference/mlp_gpt2/gauss_x.npy ${train_out})
  expect(1 "a_file: header length" train ${teacher} --inputs ${train_step}/inputs.npy --init-student ${a_file} ${train_out})
  # A dead mask must have one flag per latent; a JumpReLU run needs the file's thresholds.
  set(variants "${SHARED_DATA}/reference/train_step_variants")
  expect(1 "dead_mask.npy: shape: expected \\[32\\] \\(one flag per latent, d_sae\\), found \\[64\\]"
         --arch topk --k 4 --auxk-alpha 0.03 --d-sae 32 train ${teacher} --inputs ${train_step}/inputs.npy
         --dead-mask ${variants}/topk_auxk/dead_mask.npy ${train_out})
  expect(2 "--dead-mask fixes AuxK's dead set; it needs --auxk-alpha"
         --arch topk --k 4 train ${teacher} --inputs ${train_step}/inputs.npy --dead-mask ${variants}/topk_auxk/dead_mask.npy ${train_out})
  expect(1 "student_init.safetensors: tensor 'log_threshold': missing: --arch jumprelu needs the student's thresholds"
         --arch jumprelu train ${teacher} --inputs ${train_step}/inputs.npy --init-student ${train_step}/student_init.safetensors ${train_out})
  expect(1 "tensor 'log_threshold': the file holds a JumpReLU student; train it with --arch jumprelu"
         train ${teacher} --inputs ${train_step}/inputs.npy --init-student ${variants}/jumprelu/student_init.safetensors ${train_out})
  expect(2 "--save-format sparsify: sparsify coders select the k largest latents and have no thresholds"
         --arch batchtopk --k 4 train ${teacher} --inputs ${train_step}/inputs.npy --save ${out}/s --save-format sparsify ${train_out})
  expect(2 "--d-sae 32 disagrees with --init-student \\(d_sae 64\\)"
         --d-sae 32 train ${teacher} --inputs ${train_step}/inputs.npy --init-student ${train_step}/student_init.safetensors ${train_out})
else()
  message(STATUS "train cases with files not run: no shared data at ${SHARED_DATA}")
  if("$ENV{SD_REQUIRE_SHARED}" STREQUAL "1")
    set(failures "${failures}\n  SD_REQUIRE_SHARED=1 but the shared data is missing at ${SHARED_DATA}")
  endif()
endif()
if(EXISTS "${out}/train")
  set(failures "${failures}\n  a bad train invocation created its output folder")
endif()

# lm mode: needs the shared data (a real checkpoint); without it these cases are not run.
set(stories "${SHARED_DATA}/stories260K")
if(EXISTS "${stories}/stories260K.bin" AND EXISTS "${SHARED_DATA}/tinystories/tinystories_train_head.txt")
  set(lm_args lm --checkpoint ${stories}/stories260K.bin --tokenizer ${stories}/tok512.bin)
  set(text --text ${SHARED_DATA}/tinystories/tinystories_train_head.txt)
  file(WRITE "${WORK_DIR}/tiny.txt" "Once upon a time.")
  expect(2 "--checkpoint" lm --tokenizer ${stories}/tok512.bin ${text} -o ${out}/lm)
  expect(2 "layer 9 outside|--layers" ${lm_args} ${text} --layers 9 -o ${out}/lm)
  expect(2 "--layers: 'x'" ${lm_args} ${text} --layers x -o ${out}/lm)
  expect(2 "listed twice" ${lm_args} ${text} --layers 1,1 -o ${out}/lm)
  expect(2 "window must be 2..512" ${lm_args} ${text} --window 600 -o ${out}/lm)
  expect(2 "held-out windows" ${lm_args} --text ${WORK_DIR}/tiny.txt -o ${out}/lm)
  expect(2 "tied_decoder" ${lm_args} ${text} --pre-bias tied_decoder --no-biases -o ${out}/lm)
  expect(2 "needs about [0-9.e+]+ GiB" ${lm_args} ${text} --d-sae 4000000000 -o ${out}/lm)
  expect(1 "tok512|file|token" lm --checkpoint ${stories}/tok512.bin --tokenizer ${stories}/tok512.bin ${text} -o ${out}/lm)
  if(EXISTS "${out}/lm")
    set(failures "${failures}\n  a bad lm invocation created its output folder")
  endif()
else()
  message(STATUS "lm cases not run: no shared data at ${SHARED_DATA}")
  if("$ENV{SD_REQUIRE_SHARED}" STREQUAL "1")
    set(failures "${failures}\n  SD_REQUIRE_SHARED=1 but the shared data is missing at ${SHARED_DATA}")
  endif()
endif()

if(failures)
  message(FATAL_ERROR "distill CLI checks failed:${failures}")
endif()
