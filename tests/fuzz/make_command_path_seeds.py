#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_command_path (tests/fuzz/corpus/command_path/seed-*).

For every profile of config/profiles/ and every control it enables: a valid command (switch ON
and OFF, each option label of a select, the range ends of a number, from the schemas and the
write whitelist of src/codec/write_whitelist.cpp), confirmed by the device; then, on each of those
command topics, the hostile payloads of issue 15 (not UTF-8, 1 kB standing in for 1 MB: both are
over the cap; NaN, 1e400, NUL inside, JSON), and a command for a control the input did not enable.
The input format is described in command_path_fuzz.cpp. Run from the repository root.
"""
import pathlib
import re
import struct

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fuzz/corpus/command_path"
SERIAL = "FUZZ1"

whitelist = {key: (int(lo), int(hi)) for key, lo, hi in
             re.findall(r'\{\d+, "(\w+)", (\d+), (\d+)\}', (ROOT / "src/codec/write_whitelist.cpp").read_text())}
options, kinds = {}, {}
for path in sorted((ROOT / "config/schemas").glob("*.yaml")):
    for field in yaml.safe_load(path.read_text()).get("fields", []) or []:
        key = field.get("key")
        if key in whitelist:
            if field.get("options"):
                options[key] = [str(label) for label in field["options"].values()]
            kinds[key] = "switch" if field.get("type") == "bool" or "bit" in field else "select" if key in options else "number"


def command(key, payload):
    topic = f"bluetti/{SERIAL}/set/{key}".encode()
    return bytes([0, len(topic)]) + topic + struct.pack("<H", len(payload)) + payload


def echo():
    return bytes([1])


def wait(ticks=60):  # 60 × 20 ms: past the one-write-per-second limit
    return bytes([2, ticks])


def valid_payloads(key):
    lo, hi = whitelist[key]
    if kinds.get(key) == "switch":
        return [b"ON", b"OFF"]
    if kinds.get(key) == "select":
        return [label.encode() for label in dict.fromkeys(options[key])]
    return [str(lo).encode(), str(hi).encode()]


HOSTILE = [b"O\xffN", b"A" * 1024, b"NaN", b"1e400", b"O\x00N", b'{"state": "ON", "value": 1}']

OUT.mkdir(parents=True, exist_ok=True)
for old in OUT.glob("seed-*"):
    old.unlink()
for path in sorted((ROOT / "config/profiles").glob("*.yaml")):
    profile = yaml.safe_load(path.read_text())
    model, controls = profile["model"], profile.get("controls", [])
    header = f"{model}\n\n".encode()
    for key in controls:
        valid = b"".join(command(key, p) + echo() + wait() for p in valid_payloads(key))
        (OUT / f"seed-{model}-{key}-valid").write_bytes(header + valid)
        hostile = b"".join(command(key, p) + wait() for p in HOSTILE)
        (OUT / f"seed-{model}-{key}-hostile").write_bytes(header + hostile + command(key, valid_payloads(key)[0]) + echo())
    # Only the first control enabled: a command for every other whitelisted key must be refused.
    first = controls[0]
    others = b"".join(command(k, valid_payloads(k)[0]) + wait() for k in whitelist if k != first and k in kinds)
    (OUT / f"seed-{model}-not-enabled").write_bytes(f"{model}\n{first}\n".encode() + others)
