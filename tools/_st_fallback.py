"""Import shim: the shared tools/safetensors_py.py writer when present, else a
minimal local writer with the same save(path, tensors, metadata) call.
(Temporary: removed once tools/safetensors_py.py is on this branch.)"""

import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import safetensors_py as st  # noqa: F401
except ImportError:  # pragma: no cover
    import torch

    class _Local:
        _NAMES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
                  torch.uint8: "U8"}

        @staticmethod
        def save(path, tensors, metadata=None):
            header, chunks, off = {}, [], 0
            if metadata:
                header["__metadata__"] = dict(metadata)
            for name, t in tensors.items():
                t = t.detach().cpu().contiguous()
                data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
                header[name] = {"dtype": _Local._NAMES[t.dtype], "shape": list(t.shape),
                                "data_offsets": [off, off + len(data)]}
                chunks.append(data)
                off += len(data)
            text = json.dumps(header, separators=(",", ":")).encode()
            text += b" " * ((8 - len(text) % 8) % 8)
            with open(path, "wb") as f:
                f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))

    st = _Local()
