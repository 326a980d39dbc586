#!/usr/bin/env python3
"""Writes the fuzzer's seed corpus (tests/fuzz/seeds): a few tiny safetensors files, valid and
near-valid, with struct and json only. Run from anywhere; the seeds are committed."""
import json
import pathlib
import struct

SEEDS = pathlib.Path(__file__).resolve().parent / "seeds"


def safetensors(header, data, pad=True, **dumps):
    text = json.dumps(header, **dumps).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


compact = {"separators": (",", ":")}
seeds = {
    "empty": safetensors({}, b"", **compact),
    "one_f32": safetensors({"a": entry("F32", [2], 0, 8)}, struct.pack("<2f", 1.5, -2.0), **compact),
    "mixed": safetensors(
        {"__metadata__": {"format": "pt"},
         "n": entry("I64", [], 0, 8), "h": entry("F16", [3], 8, 14),
         "b": entry("BF16", [1], 14, 16), "m": entry("BOOL", [2], 16, 18)},
        struct.pack("<q3e", 7, 1.0, -2.0, 0.5) + b"\x80\x3f" + b"\x01\x00", **compact),
    "zero_size": safetensors({"z": entry("F32", [0, 4], 0, 0), "i": entry("I8", [1], 0, 1)}, b"\x05", **compact),
    "python_style": safetensors(
        {"w": entry("F64", [1, 1], 4, 12), "u": entry("U8", [4], 0, 4)},
        bytes([1, 2, 3, 4]) + struct.pack("<d", 0.25), pad=False),
}

SEEDS.mkdir(exist_ok=True)
for name, content in seeds.items():
    (SEEDS / f"{name}.safetensors").write_bytes(content)
