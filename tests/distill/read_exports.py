#!/usr/bin/env python3
"""Reads students exported by `distill lm --save` with numpy alone, as SAELens, sparsify and
circuit-tracer would (their documented names, orientations and configs: facts from those projects,
not their code), and checks that each computes the student's function.

    read_exports.py FORMAT DIR LAYER INPUTS.npy EXPECTED.npy [N_LAYERS]

FORMAT is saelens (DIR/layer_L/cfg.json + sae_weights.safetensors), sparsify (DIR/<hookpoint>/cfg.json +
sae.safetensors) or circuit-tracer (DIR/config.yaml + layer_L.safetensors, every layer 0..N_LAYERS-1).
Prints the relative error of the reader's outputs against EXPECTED.npy (the library's own prediction)
and exits 1 when it exceeds 1e-6 or a name, shape or config entry is not what the tool expects.
"""
import json
import os
import struct
import sys

import numpy as np

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).astype(np.float64)
    return tensors


def fail(message):
    print("read_exports: " + message)
    sys.exit(1)


def expect_shape(tensors, name, shape, where):
    if name not in tensors:
        fail(f"{where}: tensor {name} missing; has {sorted(tensors)}")
    if list(tensors[name].shape) != list(shape):
        fail(f"{where}: tensor {name} has shape {list(tensors[name].shape)}, expected {list(shape)}")
    return tensors[name]


def topk_rows(values, k):
    out = np.zeros_like(values)
    index = np.argsort(-values, axis=1, kind="stable")[:, :k]
    rows = np.arange(values.shape[0])[:, None]
    out[rows, index] = values[rows, index]
    return out


def saelens(directory, layer, x):
    folder = os.path.join(directory, f"layer_{layer}")
    cfg = json.load(open(os.path.join(folder, "cfg.json")))
    t = read_safetensors(os.path.join(folder, "sae_weights.safetensors"))
    meta = cfg["metadata"]
    for key, value in (("hook_name", f"blocks.{layer}.ln2.hook_normalized"), ("hook_name_out", f"blocks.{layer}.hook_mlp_out")):
        if meta.get(key) != value:
            fail(f"{folder}: metadata.{key} is {meta.get(key)!r}, expected {value!r}")
    if not meta.get("model_name") or not isinstance(meta.get("context_size"), int):
        fail(f"{folder}: metadata lacks model_name or context_size: {meta}")
    if tuple(int(p) for p in meta["sae_lens_version"].split(".")[:2]) < (6, 5):
        fail(f"{folder}: sae_lens_version {meta['sae_lens_version']} predates the transcoder architectures (6.5.0)")
    d_in, d_sae = cfg["d_in"], cfg["d_sae"]
    d_out = cfg.get("d_out", d_in)
    w_enc = expect_shape(t, "W_enc", (d_in, d_sae), folder)
    w_dec = expect_shape(t, "W_dec", (d_sae, d_out), folder)
    b_enc = expect_shape(t, "b_enc", (d_sae,), folder)
    b_dec = expect_shape(t, "b_dec", (d_out,), folder)
    x_in = x - b_dec if cfg["apply_b_dec_to_input"] else x
    pre = x_in @ w_enc + b_enc
    arch = cfg["architecture"]
    if arch in ("transcoder", "standard", "skip_transcoder"):
        a = np.maximum(pre, 0)
    elif arch == "topk":
        a = np.maximum(topk_rows(pre, cfg["k"]), 0)
    elif arch in ("jumprelu", "jumprelu_transcoder"):
        a = pre * (pre > expect_shape(t, "threshold", (d_sae,), folder))
    else:
        fail(f"{folder}: architecture {arch!r} unknown to this reader")
    y = a @ w_dec + b_dec
    if arch == "skip_transcoder":
        y = y + x @ expect_shape(t, "W_skip", (d_out, d_in), folder).T
    return y


def sparsify(directory, layer, x):
    hookpoints = [h for h in os.listdir(directory) if h.endswith(f".{layer}.mlp")]
    if len(hookpoints) != 1:
        fail(f"{directory}: expected one hookpoint folder '….{layer}.mlp', found {sorted(os.listdir(directory))}")
    folder = os.path.join(directory, hookpoints[0])
    cfg = json.load(open(os.path.join(folder, "cfg.json")))
    t = read_safetensors(os.path.join(folder, "sae.safetensors"))
    d_in, d_sae = cfg["d_in"], cfg["num_latents"]
    w_enc = expect_shape(t, "encoder.weight", (d_sae, d_in), folder)
    b_enc = expect_shape(t, "encoder.bias", (d_sae,), folder)
    w_dec = expect_shape(t, "W_dec", (d_sae, d_in), folder)
    b_dec = expect_shape(t, "b_dec", (d_in,), folder)
    x_in = x if cfg["transcode"] else x - b_dec
    a = topk_rows(np.maximum(x_in @ w_enc.T + b_enc, 0), cfg["k"])
    y = a @ w_dec + b_dec
    if cfg.get("skip_connection"):
        y = y + x @ expect_shape(t, "W_skip", (d_in, d_in), folder).T
    return y


def circuit_tracer(directory, layer, x, n_layers):
    config = {}
    transcoders = []
    for line in open(os.path.join(directory, "config.yaml")):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        if line.startswith("  - "):
            transcoders.append(json.loads(line[4:]))
        else:
            key, _, value = line.partition(":")
            config[key] = json.loads(value) if value.strip() else None
    if config.get("model_kind") != "transcoder_set":
        fail(f"{directory}/config.yaml: model_kind is {config.get('model_kind')!r}")
    for key in ("feature_input_hook", "feature_output_hook", "model_name"):
        if not config.get(key):
            fail(f"{directory}/config.yaml: {key} missing")
    expected = [os.path.join(os.path.abspath(directory), f"layer_{i}.safetensors") for i in range(n_layers)]
    if transcoders != expected or not all(os.path.isfile(p) for p in expected):
        fail(f"{directory}/config.yaml: transcoders {transcoders}, expected every layer file {expected}")
    t = read_safetensors(transcoders[layer])
    d_sae, d_model = t["W_enc"].shape
    w_dec = expect_shape(t, "W_dec", (d_sae, d_model), transcoders[layer])
    b_enc = expect_shape(t, "b_enc", (d_sae,), transcoders[layer])
    b_dec = expect_shape(t, "b_dec", (d_model,), transcoders[layer])
    pre = x @ t["W_enc"].T + b_enc
    activation = config.get("activation")
    if activation == "relu":
        a = np.maximum(pre, 0)
    elif activation == "topk":
        a = np.maximum(topk_rows(pre, config["k"]), 0)
    else:
        a = pre * (pre > expect_shape(t, "activation_function.threshold", (d_sae,), transcoders[layer]))
    y = a @ w_dec + b_dec
    if "W_skip" in t:
        y = y + x @ expect_shape(t, "W_skip", (d_model, d_model), transcoders[layer]).T
    return y


def main():
    fmt, directory, layer, inputs, expected = sys.argv[1:6]
    layer = int(layer)
    x = np.load(inputs).astype(np.float64)
    y_ref = np.load(expected).astype(np.float64)
    if fmt == "saelens":
        y = saelens(directory, layer, x)
    elif fmt == "sparsify":
        y = sparsify(directory, layer, x)
    elif fmt == "circuit-tracer":
        y = circuit_tracer(directory, layer, x, int(sys.argv[6]))
    else:
        fail(f"unknown format {fmt}")
    error = np.linalg.norm(y - y_ref) / np.linalg.norm(y_ref)
    print(f"{fmt} layer {layer}: relative error {error:.3g} against the library's prediction")
    sys.exit(0 if error < 1e-6 else 1)


main()
