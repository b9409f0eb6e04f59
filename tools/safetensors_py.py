"""A small, dependency-free safetensors reader and writer for the modx tools.

The format: an 8-byte little-endian header length N, N bytes of JSON
    {"__metadata__": {str: str}, "name": {"dtype": "F32", "shape": [..],
     "data_offsets": [begin, end]}, ...}
padded with spaces to a multiple of 8 bytes, then the data buffer (offsets are
relative to its start, little-endian values, row-major).

    import safetensors_py as st
    st.save(path, {"w": torch.randn(3, 4)}, metadata={"modx.config": "{...}"})
    tensors, metadata = st.load(path)

Tensors are written in the dict's insertion order, contiguous. Values may be
torch tensors or numpy arrays (numpy arrays are converted to torch). The reader
checks the same things as the C reader (src/io/safetensors.c) and raises
ValueError naming the file, the tensor and what was expected versus found.
Runs with /usr/bin/python3 (torch 1.13 + numpy); no other package is needed.
"""

import json
import math
import os
import struct

import torch

# dtype name -> (torch dtype, bytes per element)
DTYPES = {
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "F64": (torch.float64, 8),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
_NAME_OF = {tdt: name for name, (tdt, _) in DTYPES.items()}

MAX_DIMS = 8
MAX_HEADER = 100 * 1024 * 1024  # same limit as the C reader


def _as_tensor(name, value):
    if isinstance(value, torch.Tensor):
        t = value
    else:
        try:
            import numpy as np
        except ImportError:  # pragma: no cover
            np = None
        if np is not None and isinstance(value, np.ndarray):
            t = torch.from_numpy(value)
        else:
            raise TypeError(f"tensor '{name}': expected a torch tensor or numpy array, got {type(value).__name__}")
    if t.dtype not in _NAME_OF:
        raise TypeError(f"tensor '{name}': dtype {t.dtype} has no safetensors name")
    if t.dim() > MAX_DIMS:
        raise ValueError(f"tensor '{name}': {t.dim()} dimensions, at most {MAX_DIMS} allowed")
    return t.detach().cpu().contiguous()


def _tensor_bytes(t):
    if t.numel() == 0:
        return b""
    # bfloat16 has no numpy dtype: reinterpret the storage as bytes.
    return t.reshape(-1).view(torch.uint8).numpy().tobytes()


def dumps(tensors, metadata=None):
    """Returns the file contents as bytes (see save)."""
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"metadata '{k}': keys and values must be strings, got {type(v).__name__}")
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__" or name == "":
            raise ValueError(f"invalid tensor name {name!r}")
        t = _as_tensor(name, value)
        data = _tensor_bytes(t)
        header[name] = {
            "dtype": _NAME_OF[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save(path, tensors, metadata=None):
    """Writes `tensors` (name -> tensor, insertion order) and optional string
    metadata to `path` via path.tmp + fsync + rename."""
    blob = dumps(tensors, metadata)
    tmp = str(path) + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _fail(path, msg):
    raise ValueError(f"{path}: {msg}")


def loads(blob, path="<memory>"):
    """Parses file contents; returns (dict name -> torch tensor, metadata dict)."""
    if len(blob) < 8:
        _fail(path, f"file is {len(blob)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8 or n > MAX_HEADER:
        _fail(path, f"header length {n} exceeds the {len(blob) - 8} bytes after the length field")
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(path, f"header is not valid JSON ({e})")
    if not isinstance(header, dict):
        _fail(path, f"header is a JSON {type(header).__name__}, expected an object")
    buf = memoryview(blob)[8 + n :]
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        _fail(path, "__metadata__ must be an object of string -> string")
    tensors = {}
    spans = []
    for name, info in header.items():
        where = f"tensor '{name}'"
        if not isinstance(info, dict):
            _fail(path, f"{where}: expected an object")
        dtype = info.get("dtype")
        if dtype not in DTYPES:
            _fail(path, f"{where}: unknown dtype {dtype!r} (known: {' '.join(DTYPES)})")
        shape = info.get("shape")
        if (not isinstance(shape, list) or len(shape) > MAX_DIMS
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
            _fail(path, f"{where}: shape {shape!r} is not a list of at most {MAX_DIMS} non-negative integers")
        offs = info.get("data_offsets")
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offs)):
            _fail(path, f"{where}: data_offsets {offs!r} is not [begin, end]")
        begin, end = offs
        if not 0 <= begin <= end <= len(buf):
            _fail(path, f"{where}: data_offsets [{begin}, {end}] outside the {len(buf)}-byte data buffer")
        tdt, size = DTYPES[dtype]
        numel = math.prod(shape)
        if numel * size != end - begin:
            _fail(path, f"{where}: data_offsets [{begin}, {end}] hold {end - begin} bytes but {dtype} "
                        f"{shape} needs {numel * size}")
        spans.append((begin, end, name))
        raw = bytes(buf[begin:end])
        if numel == 0:
            t = torch.zeros(shape, dtype=tdt)
        else:
            t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(tdt).reshape(shape).clone()
        tensors[name] = t
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            _fail(path, f"tensor '{n1}' data_offsets [{b1}, {e1}] overlap tensor '{n0}' [{b0}, {e0}]")
    return tensors, metadata


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise json.JSONDecodeError(f"duplicate key '{k}'", "", 0)
        seen[k] = v
    return seen


def load(path):
    """Reads `path`; returns (dict name -> torch tensor in file order, metadata dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    return loads(blob, str(path))
