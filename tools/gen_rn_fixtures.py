#!/usr/bin/python3
"""Reference files for the ModifiedResNet CLIP (tools/rn_ref.py), computed in
float64 and stored as F32 (token ids and num_batches_tracked as I64):

  tests/fixtures/rn_tiny.json                the model config (= configs/rn-tiny.json)
  tests/fixtures/rn_tiny_ckpt.safetensors    current weights and BatchNorm state (every tensor
                                             random: gains 1 + noise, running variances > 0,
                                             num_batches_tracked = 3)
  tests/fixtures/rn_tiny_old.safetensors     the frozen old model for Mod-X (always in eval mode)
  tests/fixtures/rn_tiny_batch.safetensors   images (6,3,64,64) F32, texts (6,8) I64
  tests/fixtures/rn_tiny_expected.safetensors, for mode in {train, eval} (BatchNorm mode of
  the current model):
      <mode>.image_features, <mode>.text_features     (6,16) L2-normalised
      <mode>.contrastive.{loss, loss_con, loss_kl, grad.<name>}   L = L_con
      <mode>.modx.{loss, loss_con, loss_kl, grad.<name>}          L = L_con + 2·L_kl (selection)
      modx.keep_i2t, modx.keep_t2i (I64), modx.alpha
      train.state.<bn>.{running_mean, running_var, num_batches_tracked}: the state after ONE
          training-mode forward from the checkpoint's state
  tests/fixtures/rn50_state_dict.txt          name, dtype and shape of every entry of
                                             OpenCLIP's RN50 CLIP state dict (configs/RN50.json)
<name> runs over every parameter (logit_scale included).
Run: /usr/bin/python3 tools/gen_rn_fixtures.py   (from the repository root)
"""

import copy
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_py as st  # noqa: E402
from gen_clip_ref import argmax_gap, make_batch  # noqa: E402
from gen_loss_ref import contrastive, modx_kl_reference_trick  # noqa: E402
from rn_ref import RNCLIP  # noqa: E402

ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "tests", "fixtures")
ALPHA = 2.0
POSITIONS = [2, 7, 4, 5, 3, 6]


def randomise(model, seed):
    """Every parameter and state tensor random so every gradient path is used."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            n = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if name == "logit_scale":
                v = math.log(1 / 0.07) + 0.1 * n
            elif ".bn" in name or "downsample.1" in name or ".ln_" in name or "ln_final" in name:
                v = (1.0 + 0.2 * n) if name.endswith("weight") else 0.2 * n
            elif name.endswith("bias"):
                v = 0.1 * n
            elif name == "text_projection":
                v = n * p.shape[0] ** -0.5
            elif p.ndim == 4:                            # conv (out, in, k, k)
                v = n * p[0].numel() ** -0.5
            elif "embedding" in name:
                v = 0.3 * n
            else:                                       # (out, in) weights
                v = n * p.shape[1] ** -0.5
            p.copy_(v.float().double())
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_((0.1 * torch.randn(b.shape, generator=g, dtype=torch.float64)).float().double())
            elif name.endswith("running_var"):
                b.copy_((0.5 + torch.rand(b.shape, generator=g, dtype=torch.float64)).float().double())
            elif name.endswith("num_batches_tracked"):
                b.fill_(3)


def state(model):
    return {k: (v.detach() if v.dtype == torch.int64 else v.detach().float()).contiguous()
            for k, v in model.state_dict().items()}


def set_mode(model, mode):
    model.train(mode == "train")


def find_old(config, model, images, texts):
    B, idx = len(POSITIONS), torch.arange(len(POSITIONS))
    for seed in range(100, 3000):
        old = RNCLIP(config).double()
        randomise(old, seed)
        old.eval()
        with torch.no_grad():
            Vo, To, _ = old(images, texts)
        Q, Qp = Vo @ To.t(), To @ Vo.t()
        keep, keep_p = Q.argmax(1) == idx, Qp.argmax(1) == idx
        if 1 <= keep.sum() <= B - 1 and 1 <= keep_p.sum() <= B - 1 and min(argmax_gap(Q), argmax_gap(Qp)) > 1e-3:
            return old, seed, Vo, To, keep, keep_p
    raise SystemExit("no old-model seed gave a mix of kept and excluded rows")


def run_case(base, mode, case, images, texts, Vo, To, out):
    model = copy.deepcopy(base)
    set_mode(model, mode)
    V, T, _ = model(images, texts)
    loss_con = contrastive(V, T, model.logit_scale)
    kl = modx_kl_reference_trick(V, T, Vo, To, True) if case == "modx" else torch.zeros((), dtype=torch.float64)
    loss = loss_con + ALPHA * kl
    loss.backward()
    p = f"{mode}.{case}"
    out[f"{p}.loss"], out[f"{p}.loss_con"], out[f"{p}.loss_kl"] = (x.detach().float() for x in (loss, loss_con, kl))
    for name, prm in model.named_parameters():
        out[f"{p}.grad.{name}"] = prm.grad.detach().float().contiguous()
    out[f"{mode}.image_features"], out[f"{mode}.text_features"] = V.detach().float(), T.detach().float()
    if mode == "train" and case == "contrastive":
        for name, b in model.named_buffers():
            if "running" in name or "num_batches" in name:
                out[f"train.state.{name}"] = b.detach().clone() if b.dtype == torch.int64 else b.detach().float()
    print(f"{p}: loss {loss.item():.6f} (con {loss_con.item():.6f}, kl {kl.item():.6f})")


def generate_tiny():
    with open(os.path.join(ROOT, "configs", "rn-tiny.json")) as f:
        config = json.load(f)
    images, texts = make_batch(config, POSITIONS)
    model = RNCLIP(config).double()
    randomise(model, 1)
    old, seed, Vo, To, keep, keep_p = find_old(config, model, images, texts)
    print(f"old seed {seed}: kept i2t {keep.tolist()}, t2i {keep_p.tolist()}")
    out = {}
    for mode in ("train", "eval"):
        for case in ("contrastive", "modx"):
            run_case(model, mode, case, images, texts, Vo, To, out)
    out["modx.alpha"] = torch.tensor(ALPHA, dtype=torch.float32)
    out["modx.keep_i2t"], out["modx.keep_t2i"] = keep.to(torch.int64), keep_p.to(torch.int64)
    with open(os.path.join(OUT, "rn_tiny.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    meta = {"generator": "tools/gen_rn_fixtures.py", "modx.config": json.dumps(config, separators=(",", ":"))}
    vocab = config["text_cfg"]["vocab_size"]
    st.save(os.path.join(OUT, "rn_tiny_ckpt.safetensors"), state(model), metadata=meta)
    st.save(os.path.join(OUT, "rn_tiny_old.safetensors"), state(old), metadata={**meta, "seed": str(seed)})
    st.save(os.path.join(OUT, "rn_tiny_batch.safetensors"), {"images": images.float(), "texts": texts},
            metadata={"generator": "tools/gen_rn_fixtures.py", "sot": str(vocab - 2), "eot": str(vocab - 1)})
    st.save(os.path.join(OUT, "rn_tiny_expected.safetensors"), out,
            metadata={"generator": "tools/gen_rn_fixtures.py", "alpha": str(ALPHA)})


def generate_rn50_names():
    with open(os.path.join(ROOT, "configs", "RN50.json")) as f:
        config = json.load(f)
    model = RNCLIP(config)
    with open(os.path.join(OUT, "rn50_state_dict.txt"), "w") as f:
        f.write("# OpenCLIP RN50 CLIP state dict (configs/RN50.json): name dtype shape; "
                "written by tools/gen_rn_fixtures.py\n")
        for name, t in model.state_dict().items():
            dt = "I64" if t.dtype == torch.int64 else "F32"
            f.write(f"{name} {dt} [{','.join(str(d) for d in t.shape)}]\n")
    print(f"RN50: {len(model.state_dict())} state-dict entries, {sum(p.numel() for p in model.parameters())} "
          "parameters")


def main():
    torch.set_default_dtype(torch.float64)
    generate_tiny()
    generate_rn50_names()


if __name__ == "__main__":
    main()
