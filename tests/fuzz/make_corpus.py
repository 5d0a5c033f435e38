#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus: small .npy and .safetensors files, valid_* (the parsers must
accept them) and invalid_* (they must reject them). Built by hand with struct, following the
published formats, so it needs neither numpy nor safetensors. Run from anywhere; rewrites
corpus/npy and corpus/safetensors next to this script."""
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
FORMATS = {"f2": "e", "f4": "f", "f8": "d", "i4": "i", "i8": "q"}


def npy(descr, shape, values, fortran=False, version=(1, 0), header=None):
    """A .npy file: magic, version, header length, a dict literal padded to 64 bytes, the data."""
    if header is None:
        shape_text = "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_text)
    length_size = 2 if version[0] == 1 else 4
    prefix_size = 8 + length_size
    padded = -(-(prefix_size + len(header) + 1) // 64) * 64 - prefix_size
    text = (header + " " * (padded - len(header) - 1) + "\n").encode("utf-8" if version[0] == 3 else "latin-1")
    length = struct.pack("<H" if length_size == 2 else "<I", len(text))
    order = ">" if descr.startswith(">") else "<"
    data = struct.pack(order + FORMATS[descr[1:]] * len(values), *values) if values else b""
    return b"\x93NUMPY" + bytes(version) + length + text + data


def safetensors(entries, metadata=None, data=b"", header=None):
    """A safetensors file: u64 header length, JSON header padded with spaces to 8 bytes, the data."""
    if header is None:
        table = {}
        if metadata is not None:
            table["__metadata__"] = metadata
        table.update(entries)
        header = json.dumps(table, separators=(",", ":"))
    text = header.encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def tensor(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def npy_corpus():
    good = npy("<f4", (2, 3), [0.5, -1.0, 2.0, 3.5, 0.0, -0.25])
    yield "valid_f4_2x3.npy", good
    yield "valid_f8_fortran_3x2.npy", npy("<f8", (3, 2), [1, 2, 3, 4, 5, 6], fortran=True)
    yield "valid_i8_big_endian_v2.npy", npy(">i8", (4,), [1, -2, 3, -4], version=(2, 0))
    yield "valid_f2_scalar_v3.npy", npy("<f2", (), [1.5], version=(3, 0))
    yield "valid_i4_empty.npy", npy("<i4", (0, 5), [])
    yield "valid_f4_3d_double_quotes.npy", npy(
        "<f4", None, [float(i) for i in range(8)],
        header='{"shape": (2, 2, 2), "fortran_order": False, "descr": "<f4"}')
    yield "invalid_magic.npy", b"\x93NUMPZ" + good[6:]
    yield "invalid_version_4.npy", good[:6] + b"\x04\x00" + good[8:]
    yield "invalid_truncated_data.npy", good[:-3]
    yield "invalid_trailing_bytes.npy", good + b"\x00" * 4
    yield "invalid_header_length_past_end.npy", good[:8] + struct.pack("<H", 60000) + good[10:]
    yield "invalid_descr_complex.npy", npy("<c8", (1,), [], header="{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }")
    yield "invalid_shape_overflows.npy", npy("<f8", None, [], header="{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }")
    yield "invalid_shape_claims_1e15_elements.npy", npy("<f4", None, [1.0], header="{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000000,), }")
    yield "invalid_shape_negative.npy", npy("<f4", None, [], header="{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")
    yield "invalid_header_not_a_dict.npy", npy("<f4", None, [], header="[1, 2, 3]")
    yield "invalid_fortran_order_not_bool.npy", npy("<f4", None, [1.0], header="{'descr': '<f4', 'fortran_order': 1, 'shape': (1,), }")
    yield "invalid_missing_shape.npy", npy("<f4", None, [], header="{'descr': '<f4', 'fortran_order': False, }")


def safetensors_corpus():
    two = struct.pack("<6f", 1, 2, 3, 4, 5, 6) + struct.pack("<2q", 7, -8)
    good_entries = {"weight": tensor("F32", [2, 3], 0, 24), "index": tensor("I64", [2], 24, 40)}
    good = safetensors(good_entries, {"format": "pt"}, two)
    yield "valid_f32_and_i64_with_metadata.safetensors", good
    all_data = (struct.pack("<2d", 1.5, -2) + struct.pack("<e", 0.5) + struct.pack("<H", 0x3F80)
                + struct.pack("<i", 9) + struct.pack("<f", 3.25))
    yield "valid_every_dtype_scalar_and_empty.safetensors", safetensors({
        "f64": tensor("F64", [2], 0, 16), "f16": tensor("F16", [1], 16, 18), "bf16": tensor("BF16", [1, 1], 18, 20),
        "i32": tensor("I32", [1], 20, 24), "scalar_f32": tensor("F32", [], 24, 28), "empty_f32": tensor("F32", [0, 4], 28, 28),
        "empty_i64": tensor("I64", [3, 0], 28, 28)}, None, all_data)
    yield "valid_no_tensors.safetensors", safetensors({}, None)
    yield "invalid_shorter_than_length.safetensors", b"\x10\x00\x00\x00"
    yield "invalid_header_length_past_end.safetensors", struct.pack("<Q", 1 << 40) + good[8:]
    yield "invalid_json.safetensors", safetensors(None, header='{"weight": {"dtype": "F32", "shape": [2, 3],')
    yield "invalid_header_is_array.safetensors", safetensors(None, header="[1, 2]")
    yield "invalid_overlap.safetensors", safetensors(
        {"a": tensor("F32", [2], 0, 8), "b": tensor("F32", [2], 4, 12)}, None, bytes(12))
    yield "invalid_gap.safetensors", safetensors(
        {"a": tensor("F32", [1], 0, 4), "b": tensor("F32", [1], 8, 12)}, None, bytes(12))
    yield "invalid_offsets_past_end.safetensors", safetensors({"a": tensor("F32", [4], 0, 16)}, None, bytes(8))
    yield "invalid_unknown_dtype.safetensors", safetensors({"a": tensor("C64", [1], 0, 8)}, None, bytes(8))
    yield "invalid_shape_disagrees_with_bytes.safetensors", safetensors({"a": tensor("F64", [3], 0, 16)}, None, bytes(16))
    yield "invalid_shape_overflows.safetensors", safetensors(
        {"a": tensor("F32", [1 << 62, 1 << 62], 0, 16)}, None, bytes(16))
    yield "invalid_negative_extent.safetensors", safetensors({"a": tensor("F32", [-1], 0, 4)}, None, bytes(4))
    yield "invalid_begin_after_end.safetensors", safetensors({"a": tensor("F32", [0], 8, 4)}, None, bytes(8))
    yield "invalid_metadata_not_a_string.safetensors", safetensors({}, {"step": 3})
    yield "invalid_missing_data_offsets.safetensors", safetensors({"a": {"dtype": "F32", "shape": [1]}}, None, bytes(4))
    yield "invalid_trailing_bytes.safetensors", good + bytes(4)


def main():
    for folder, corpus in (("npy", npy_corpus()), ("safetensors", safetensors_corpus())):
        directory = HERE / "corpus" / folder
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            old.unlink()
        for name, content in corpus:
            (directory / name).write_bytes(content)


if __name__ == "__main__":
    main()
