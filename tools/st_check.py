"""Cross-checks the C safetensors code against tools/safetensors_py.py.

    /usr/bin/python3 tools/st_check.py            # verify (exit 1 on any mismatch)
    /usr/bin/python3 tools/st_check.py --write    # (re)write tests/fixtures/st_python_written.safetensors

Two committed fixtures tie the two implementations together:
  tests/fixtures/st_python_written.safetensors  written here (F16/BF16/F64/I64/F32/U8);
      tests/test_safetensors.c reads it and checks the values listed in python_tensors().
  tests/fixtures/st_c_written.safetensors       written by the C writer (the unit test
      io_st_c_writer_matches_fixture compares its output byte for byte; run the unit test
      with MODX_UPDATE_FIXTURES=1 to rewrite it). Here it must load with c_tensors()'s
      values, and this module's writer must produce the same bytes from them.
"""

import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py as st  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY_FIXTURE = os.path.join(ROOT, "tests/fixtures/st_python_written.safetensors")
C_FIXTURE = os.path.join(ROOT, "tests/fixtures/st_c_written.safetensors")


def _from_bits(bits, dtype):
    u = np.array(bits, dtype=np.uint16).view(np.int16)
    return torch.from_numpy(u.copy()).view(dtype)


# F16 bit patterns and their float values (checked by hand in the C test too).
F16_BITS = [0x3C00, 0xC000, 0x7BFF, 0x0400, 0x0001, 0x03FF, 0x8000, 0x7C00, 0xFC00, 0x7E00]
F16_VALUES = [1.0, -2.0, 65504.0, 2.0**-14, 2.0**-24, 1023 * 2.0**-24, -0.0, math.inf, -math.inf, math.nan]
BF16_BITS = [0x3F80, 0xC040, 0x4049, 0x0001, 0xFF80, 0x7FC0]
BF16_VALUES = [1.0, -3.0, 3.140625, 2.0**-133, -math.inf, math.nan]


def python_tensors():
    tensors = {
        "f16": _from_bits(F16_BITS, torch.float16).reshape(2, 5),
        "bf16": _from_bits(BF16_BITS, torch.bfloat16),
        "f64": torch.tensor([0.1, -1e300, 1.5], dtype=torch.float64),
        "ids64": torch.tensor([5, -7, 49407], dtype=torch.int64),
        "proj": torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float32),
        "mask": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "logit_scale": torch.tensor(2.5, dtype=torch.float32),
    }
    metadata = {"modx.config": '{"embed_dim": 4}', "source": "python"}
    return tensors, metadata


def c_tensors():
    """Must match io_st_c_writer_matches_fixture in tests/test_safetensors.c."""
    tensors = {
        "w": torch.tensor([[0.5, -1.25, 3.0], [1e-8, -0.0, 65504.0]], dtype=torch.float32),
        "ids": torch.tensor([0, -1, 2147483647, -2147483648], dtype=torch.int32),
        "mask": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "logit_scale": torch.tensor(2.659260034561157, dtype=torch.float32),
        "h": _from_bits([0x3C00, 0x8001], torch.float16),
        "b": _from_bits([0x3F80, 0xC040], torch.bfloat16),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "name \"quoted\"\\x": torch.tensor([7], dtype=torch.int8),
    }
    metadata = {"modx.config": '{"embed_dim": 8}', "format": "pt"}
    return tensors, metadata


def same(a, b):
    if a.dtype != b.dtype or tuple(a.shape) != tuple(b.shape):
        return False
    if a.numel() == 0:
        return True
    # bit-exact, NaN-safe
    return bytes(a.reshape(-1).view(torch.uint8).numpy()) == bytes(b.reshape(-1).view(torch.uint8).numpy())


def check_file(path, want_tensors, want_meta):
    got, meta = st.load(path)
    errors = []
    if list(got) != list(want_tensors):
        errors.append(f"{path}: tensor order {list(got)} != {list(want_tensors)}")
    for name, want in want_tensors.items():
        if name not in got:
            errors.append(f"{path}: missing tensor '{name}'")
        elif not same(got[name], want):
            errors.append(f"{path}: tensor '{name}': got {got[name].dtype} {got[name]} want {want.dtype} {want}")
    if meta != want_meta:
        errors.append(f"{path}: metadata {meta} != {want_meta}")
    return errors


def check_with_modx():
    """When build/modx exists: `modx inspect` of a random Python-written file must
    list every tensor with its dtype, shape and element count."""
    import subprocess
    import tempfile

    modx = os.path.join(ROOT, "build/modx")
    if not os.path.exists(modx):
        print("note: build/modx not built; skipping the live C check")
        return []
    g = torch.Generator().manual_seed(0)
    tensors = {}
    dtypes = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32,
              torch.int16, torch.int8, torch.uint8, torch.bool]
    for i in range(40):
        ndim = int(torch.randint(0, 5, (1,), generator=g))
        shape = [int(x) for x in torch.randint(0, 5, (ndim,), generator=g)]
        dt = dtypes[i % len(dtypes)]
        tensors[f"layer.{i}.weight"] = (torch.randn(shape, generator=g) * 50).to(dt)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "random.safetensors")
        st.save(path, tensors, {"modx.config": '{"embed_dim": 2}'})
        back, _ = st.load(path)
        out = subprocess.run([modx, "inspect", path], capture_output=True, text=True)
    errors = [f"Python round trip changed '{n}'" for n in tensors if not same(back[n], tensors[n])]
    if out.returncode != 0:
        return errors + [f"modx inspect failed on a Python-written file: {out.stderr.strip()}"]
    rows = {}
    for line in out.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].startswith("layer."):
            dtype, rest = parts[1], parts[2]
            shape_text, numel = rest.rsplit(None, 1)
            rows[parts[0]] = (dtype, shape_text.strip(), int(numel))
    for name, t in tensors.items():
        want = (st._NAME_OF[t.dtype], "[" + ", ".join(str(d) for d in t.shape) + "]", t.numel())
        if rows.get(name) != want:
            errors.append(f"modx inspect lists {name} as {rows.get(name)}, want {want}")
    total = sum(t.numel() for t in tensors.values())
    if f"{len(tensors)} tensors, {total} parameters" not in out.stdout:
        errors.append(f"modx inspect total line wrong, want {len(tensors)} tensors, {total} parameters")
    return errors


def main(argv):
    errors = []
    tensors, meta = python_tensors()
    if "--write" in argv:
        st.save(PY_FIXTURE, tensors, meta)
        print(f"wrote {PY_FIXTURE} ({os.path.getsize(PY_FIXTURE)} bytes)")
    # Python fixture: round-trips here and matches what this module writes now.
    errors += check_file(PY_FIXTURE, tensors, meta)
    with open(PY_FIXTURE, "rb") as f:
        if f.read() != st.dumps(tensors, meta):
            errors.append(f"{PY_FIXTURE}: differs from what safetensors_py writes today (rerun with --write)")
    # F16/BF16 decoding used by the C test's expectations.
    for bits, want in zip(F16_BITS, F16_VALUES):
        got = float(_from_bits([bits], torch.float16)[0])
        if not (got == want and math.copysign(1, got) == math.copysign(1, want)) and not (
            math.isnan(got) and math.isnan(want)
        ):
            errors.append(f"F16 0x{bits:04x}: torch gives {got!r}, table says {want!r}")
    for bits, want in zip(BF16_BITS, BF16_VALUES):
        got = float(_from_bits([bits], torch.bfloat16)[0])
        if got != want and not (math.isnan(got) and math.isnan(want)):
            errors.append(f"BF16 0x{bits:04x}: torch gives {got!r}, table says {want!r}")
    # C-written fixture loads here with the right values, byte-identical to our writer.
    if os.path.exists(C_FIXTURE):
        ct, cm = c_tensors()
        errors += check_file(C_FIXTURE, ct, cm)
        with open(C_FIXTURE, "rb") as f:
            if f.read() != st.dumps(ct, cm):
                errors.append(f"{C_FIXTURE}: C writer bytes differ from safetensors_py.dumps of the same tensors")
    else:
        errors.append(f"{C_FIXTURE}: missing (run build/tests/unit io_st_c_writer with MODX_UPDATE_FIXTURES=1)")
    # Live: a fresh random Python-written file is listed correctly by the C reader.
    errors += check_with_modx()
    # Corrupt input is rejected with a message naming the file.
    blob = st.dumps(tensors, meta)
    for cut in (0, 7, 8, 40, len(blob) - 1):
        try:
            st.loads(blob[:cut], "cut.safetensors")
            errors.append(f"truncation at {cut} bytes was accepted")
        except ValueError as e:
            if "cut.safetensors" not in str(e):
                errors.append(f"truncation message lacks the file name: {e}")
    for line in errors:
        print("FAIL", line)
    print(f"st_check: {'FAILED' if errors else 'ok'} ({len(errors)} problems)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
