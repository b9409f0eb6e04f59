#!/usr/bin/python3
"""Whole-model reference files for the micro CLIP (tools/clip_ref.py), in
float64, stored as F32 (token ids as I64):

  tests/fixtures/clip_micro.json                 the OpenCLIP model config
  tests/fixtures/clip_micro_ckpt.safetensors     current weights (OpenCLIP keys; every tensor random,
                                                 LayerNorm gains 1 + noise, biases non-zero)
  tests/fixtures/clip_micro_old.safetensors      another weight set: the frozen old model for Mod-X
  tests/fixtures/clip_micro_batch.safetensors    images (6,3,16,16) F32, texts (6,8) I64
                                                 (SOT = 62, EOT = 63 = the highest id, 0 padding,
                                                 EOT at positions 2..7)
  tests/fixtures/clip_micro_expected.safetensors
      image_embeds, text_embeds         (6,16) unnormalised encode_image / encode_text
      image_features, text_features     (6,16) L2-normalised (what the losses see)
      old_image_features, old_text_features   (6,16) normalised, from the old weights
      contrastive.loss, contrastive.loss_con, contrastive.loss_kl (= 0), contrastive.grad.<name>
          case (a): L = L_con
      modx.loss, modx.loss_con, modx.loss_kl, modx.alpha (= 2), modx.keep_i2t, modx.keep_t2i (I64),
      modx.grad.<name>
          case (b): L = L_con + 2·L_kl with selection (SPEC §3); old features are constants
  <name> runs over every tensor of the checkpoint, logit_scale included.
Scalars are 0-dim tensors (logit_scale too, as in OpenCLIP state dicts).
The old-weight seed is chosen so that both Q and Q' have kept and excluded rows
(asserted). Run: /usr/bin/python3 tools/gen_clip_ref.py  (from the repository root)
"""

import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_py as st  # noqa: E402
from clip_ref import CLIP, manual_encode  # noqa: E402
from gen_loss_ref import contrastive, modx_kl_masked, modx_kl_reference_trick  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "fixtures")
B, ALPHA = 6, 2.0
CONFIG = {
    "embed_dim": 16,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 16, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 32, "heads": 2, "layers": 2},
}


def randomise(model, seed):
    """Every tensor random (no zeros, no ones) so every gradient path is used."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            n = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if name == "logit_scale":
                v = math.log(1 / 0.07) + 0.1 * n
            elif ".ln_" in name or name.startswith("ln_") or "ln_final" in name:
                v = (1.0 + 0.1 * n) if name.endswith("weight") else 0.1 * n
            elif name.endswith("bias") or name == "visual.class_embedding":
                v = 0.1 * n
            elif name in ("visual.proj", "text_projection"):
                v = n * p.shape[0] ** -0.5           # used as x @ W: fan-in is dim 0
            elif name == "visual.conv1.weight":
                v = n * (p[0].numel()) ** -0.5
            elif "embedding" in name:
                v = 0.3 * n
            else:                                   # (out, in) weights
                v = n * p.shape[1] ** -0.5
            p.copy_(v.float().double())             # the F32 value is the reference's input


def state(model):
    return {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}


# A second case: another ViT shape (4x4 patches, 3 heads of 8, one image layer,
# three text layers of 4 heads, MLP ratio 2) with exact GELU, written without
# modx metadata, as a file from any PyTorch CLIP would be.
GELU_CONFIG = {
    "embed_dim": 8,
    "quick_gelu": False,
    "vision_cfg": {"image_size": 12, "layers": 1, "width": 24, "patch_size": 4, "head_width": 8, "mlp_ratio": 2.0},
    "text_cfg": {"context_length": 6, "vocab_size": 50, "width": 16, "heads": 4, "layers": 3, "mlp_ratio": 2.0},
}
CASES = [("clip_micro", CONFIG, [2, 7, 4, 5, 3, 6], True), ("clip_gelu", GELU_CONFIG, [1, 5, 3, 2, 4], False)]


def make_batch(config, positions):
    g = torch.Generator().manual_seed(2023)
    size = config["vision_cfg"]["image_size"]
    images = torch.randn(len(positions), 3, size, size, generator=g, dtype=torch.float64).float().double()
    vocab, ctx = config["text_cfg"]["vocab_size"], config["text_cfg"]["context_length"]
    sot, eot = vocab - 2, vocab - 1
    texts = torch.zeros(len(positions), ctx, dtype=torch.int64)
    for i, pos in enumerate(positions):
        texts[i, 0] = sot
        texts[i, 1:pos] = torch.randint(1, sot, (pos - 1,), generator=g)
        texts[i, pos] = eot
    return images, texts


def argmax_gap(Q):
    top = Q.sort(dim=1, descending=True).values
    return (top[:, 0] - top[:, 1]).min().item()


def generate(prefix, CONFIG, positions, with_metadata):
    B = len(positions)
    images, texts = make_batch(CONFIG, positions)
    model = CLIP(CONFIG).double()
    randomise(model, 1)
    idx = torch.arange(B)

    with torch.no_grad():
        V, T, _ = model(images, texts)
    for seed in range(100, 2000):
        old = CLIP(CONFIG).double()
        randomise(old, seed)
        with torch.no_grad():
            Vo, To, _ = old(images, texts)
        Q, Qp = Vo @ To.t(), To @ Vo.t()
        keep, keep_p = Q.argmax(1) == idx, Qp.argmax(1) == idx
        if 1 <= keep.sum() <= B - 1 and 1 <= keep_p.sum() <= B - 1 and min(argmax_gap(Q), argmax_gap(Qp)) > 1e-3:
            break
    else:
        raise SystemExit("no old-model seed gave a mix of kept and excluded rows")
    print(f"old seed {seed}: kept i2t {keep.tolist()}, t2i {keep_p.tolist()}, "
          f"min argmax gap {min(argmax_gap(Q), argmax_gap(Qp)):.3g}")

    out = {}
    with torch.no_grad():
        img, txt = model.encode_image(images), model.encode_text(texts)
        mimg, mtxt = manual_encode({k: v.detach() for k, v in model.state_dict().items()}, CONFIG, images, texts)
        err = max((img - mimg).abs().max().item(), (txt - mtxt).abs().max().item())
        assert err < 1e-10, f"nn.Module and plain-ops CLIP disagree by {err}"
        print(f"nn.Module vs plain-ops forward: max diff {err:.2g}")
        out["image_embeds"], out["text_embeds"] = img.float(), txt.float()
    out["image_features"], out["text_features"] = V.float(), T.float()
    out["old_image_features"], out["old_text_features"] = Vo.float(), To.float()

    for case in ("contrastive", "modx"):
        model.zero_grad()
        V, T, _ = model(images, texts)
        loss_con = contrastive(V, T, model.logit_scale)
        if case == "modx":
            kl = modx_kl_reference_trick(V, T, Vo, To, True)
            assert abs(kl.item() - modx_kl_masked(V, T, Vo, To, True).item()) < 1e-12
        else:
            kl = torch.zeros((), dtype=torch.float64)
        loss = loss_con + ALPHA * kl if case == "modx" else loss_con
        loss.backward()
        out[f"{case}.loss"] = loss.detach().float()
        out[f"{case}.loss_con"] = loss_con.detach().float()
        out[f"{case}.loss_kl"] = kl.detach().float()
        for name, p in model.named_parameters():
            assert p.grad is not None and p.grad.abs().max() > 0, f"{case}: gradient of {name} is zero"
            out[f"{case}.grad.{name}"] = p.grad.detach().float().contiguous()
        print(f"{case}: loss {loss.item():.6f} (con {loss_con.item():.6f}, kl {kl.item():.6f})")
    out["modx.alpha"] = torch.tensor(ALPHA, dtype=torch.float32)
    out["modx.keep_i2t"] = keep.to(torch.int64)
    out["modx.keep_t2i"] = keep_p.to(torch.int64)

    with open(os.path.join(OUT, f"{prefix}.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    meta = {"generator": "tools/gen_clip_ref.py"}
    if with_metadata:
        meta["modx.config"] = json.dumps(CONFIG, separators=(",", ":"))
    vocab = CONFIG["text_cfg"]["vocab_size"]
    st.save(os.path.join(OUT, f"{prefix}_ckpt.safetensors"), state(model), metadata=meta)
    st.save(os.path.join(OUT, f"{prefix}_old.safetensors"), state(old), metadata={**meta, "seed": str(seed)})
    st.save(os.path.join(OUT, f"{prefix}_batch.safetensors"), {"images": images.float(), "texts": texts},
            metadata={"generator": "tools/gen_clip_ref.py", "sot": str(vocab - 2), "eot": str(vocab - 1)})
    st.save(os.path.join(OUT, f"{prefix}_expected.safetensors"), out,
            metadata={"generator": "tools/gen_clip_ref.py", "alpha": str(ALPHA)})
    n = sum(p.numel() for p in model.parameters())
    print(f"{prefix}: {len(list(model.parameters()))} tensors, {n} parameters")


def main():
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        generate(*case)


if __name__ == "__main__":
    main()
