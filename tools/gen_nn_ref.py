#!/usr/bin/python3
"""Writes the PyTorch reference fixtures of src/nn and src/clip.

  tests/fixtures/nn_ref.safetensors        per-layer inputs, outputs, gradients:
      linear, layernorm, attention (torch.nn.MultiheadAttention, plain and causal),
      quickgelu, gelu, patch embedding (Conv2d), l2norm (F.normalize)
  tests/fixtures/clip_micro_ref.safetensors
      a micro CLIP (configs/micro.json) written the way OpenCLIP builds it: its
      state dict under the OpenCLIP names, a batch of images and tokens, the
      normalised features, and the gradients of the probe loss
      sum(wv * image_features) + sum(wt * text_features) w.r.t. every parameter.

References are computed in float64 from float32 inputs and stored as float32.
Run with the system interpreter: /usr/bin/python3 tools/gen_nn_ref.py
"""
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import safetensors_py as st  # noqa: E402


def f32(t):
    return t.detach().to(torch.float32).cpu().numpy()


def randn32(*shape, scale=1.0):
    """float32 values, returned as float64 tensors (exactly representable)."""
    return (torch.randn(*shape, dtype=torch.float32) * scale).to(torch.float64)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


def layer_fixtures():
    out = OrderedDict()

    def grads(fn, inputs, prefix, names):
        for t in inputs:
            t.requires_grad_(True)
        y = fn(*inputs)
        dy = randn32(*y.shape)
        (y * dy).sum().backward()
        out[prefix + ".dy"] = f32(dy)
        out[prefix + ".y"] = f32(y)
        for n, t in zip(names, inputs):
            out[prefix + "." + n] = f32(t)
            out[prefix + ".d" + n] = f32(t.grad)

    # linear: odd sizes
    R, C, OC = 7, 13, 5
    grads(lambda x, w, b: F.linear(x, w, b), [randn32(R, C), randn32(OC, C, scale=0.3), randn32(OC)], "linear",
          ["x", "w", "b"])
    # layernorm
    R, C = 6, 11
    grads(lambda x, w, b: F.layer_norm(x, (C,), w, b, 1e-5), [randn32(R, C, scale=2.0) + 1.5, randn32(C), randn32(C)],
          "layernorm", ["x", "w", "b"])
    # activations
    grads(lambda x: x * torch.sigmoid(1.702 * x), [randn32(37, scale=2.0)], "quickgelu", ["x"])
    grads(lambda x: F.gelu(x), [randn32(37, scale=2.0)], "gelu", ["x"])
    # l2norm
    grads(lambda x: F.normalize(x, dim=-1), [randn32(5, 9)], "l2norm", ["x"])
    # patch embedding: B=2, S=12, P=4, C=5
    B, S, P, C = 2, 12, 4, 5

    def patch(img, w):
        y = F.conv2d(img, w, stride=P)
        return y.reshape(B, C, -1).permute(0, 2, 1)

    grads(patch, [randn32(B, 3, S, S), randn32(C, 3, P, P, scale=0.2)], "patch", ["images", "w"])
    # attention through torch.nn.MultiheadAttention (packed in_proj), plain and causal
    for causal in (0, 1):
        B, N, C, NH = 2, 5, 12, 3
        mha = nn.MultiheadAttention(C, NH).to(torch.float64)
        with torch.no_grad():
            for p in mha.parameters():
                p.copy_(randn32(*p.shape, scale=0.3))
        x = randn32(B, N, C)
        x.requires_grad_(True)
        mask = torch.empty(N, N, dtype=torch.float64).fill_(float("-inf")).triu_(1) if causal else None
        y = mha(x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1), need_weights=False, attn_mask=mask)[0]
        y = y.transpose(0, 1)
        dy = randn32(*y.shape)
        (y * dy).sum().backward()
        pre = "attn_causal" if causal else "attn"
        out[pre + ".x"] = f32(x)
        out[pre + ".y"] = f32(y)
        out[pre + ".dy"] = f32(dy)
        out[pre + ".dx"] = f32(x.grad)
        for n, p in [("in_proj_weight", mha.in_proj_weight), ("in_proj_bias", mha.in_proj_bias),
                     ("out_proj.weight", mha.out_proj.weight), ("out_proj.bias", mha.out_proj.bias)]:
            out[pre + "." + n] = f32(p)
            out[pre + ".d" + n] = f32(p.grad)
    return out


# ---------------------------------------------------------------- micro CLIP, OpenCLIP layout


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d, h, mlp, act):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, h)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, mlp)), ("gelu", act()),
                                              ("c_proj", nn.Linear(mlp, d))]))

    def forward(self, x, mask=None):  # x (N, B, C)
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mlp, act):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads, mlp, act) for _ in range(layers)])

    def forward(self, x, mask=None):
        for r in self.resblocks:
            x = r(x, mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch, width, layers, heads, mlp, out_dim, act):
        super().__init__()
        scale = width ** -0.5
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((image_size // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, mlp, act)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, out_dim))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x)
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_post(x)  # OpenCLIP default: ln_post on all tokens, then pool the class token
        return x[:, 0] @ self.proj


class CLIP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        v, t, E = cfg["vision_cfg"], cfg["text_cfg"], cfg["embed_dim"]
        act = QuickGELU if cfg.get("quick_gelu", False) else nn.GELU
        vw = v["width"]
        self.visual = VisionTransformer(v["image_size"], v["patch_size"], vw, v["layers"],
                                        vw // v.get("head_width", 64), int(vw * v.get("mlp_ratio", 4.0)), E, act)
        tw = t["width"]
        self.transformer = Transformer(tw, t["layers"], t["heads"], int(tw * t.get("mlp_ratio", 4.0)), act)
        self.token_embedding = nn.Embedding(t["vocab_size"], tw)
        self.positional_embedding = nn.Parameter(torch.empty(t["context_length"], tw))
        self.ln_final = nn.LayerNorm(tw)
        self.text_projection = nn.Parameter(torch.empty(tw, E))
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
        T = t["context_length"]
        self.register_buffer("attn_mask", torch.empty(T, T).fill_(float("-inf")).triu_(1), persistent=False)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        nn.init.normal_(self.text_projection, std=tw ** -0.5)

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2), self.attn_mask).permute(1, 0, 2)
        x = self.ln_final(x)
        x = x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection
        return F.normalize(x, dim=-1)

    def forward(self, image, text):
        return F.normalize(self.visual(image), dim=-1), self.encode_text(text)


def model_fixture():
    with open(os.path.join(ROOT, "configs", "micro.json")) as f:
        cfg = json.load(f)
    model = CLIP(cfg)
    with torch.no_grad():  # round every parameter to float32, perturb the LayerNorm gains/biases
        for n, p in model.named_parameters():
            if "ln" in n:
                p.add_(0.1 * torch.randn_like(p))
            p.copy_(p.to(torch.float32))
    model = model.to(torch.float64)
    B = 3
    S, T, V, E = cfg["vision_cfg"]["image_size"], cfg["text_cfg"]["context_length"], cfg["text_cfg"]["vocab_size"], \
        cfg["embed_dim"]
    images = randn32(B, 3, S, S)
    tokens = torch.zeros(B, T, dtype=torch.int64)
    for b, n in enumerate([3, T, 5]):  # SOT, words, EOT (= V-1), zero padding; one row full
        tokens[b, 0] = V - 2
        tokens[b, 1:n - 1] = torch.randint(1, V - 2, (n - 2,))
        tokens[b, n - 1] = V - 1
    fv, ft = model(images, tokens)
    wv, wt = randn32(B, E), randn32(B, E)
    ((fv * wv).sum() + (ft * wt).sum()).backward()
    out = OrderedDict()
    for n, p in model.state_dict().items():
        out[n] = f32(p)
    out["input.images"] = f32(images)
    out["input.tokens"] = tokens.to(torch.int32).numpy()
    out["input.wv"] = f32(wv)
    out["input.wt"] = f32(wt)
    out["output.image_features"] = f32(fv)
    out["output.text_features"] = f32(ft)
    for n, p in model.named_parameters():
        out["grad." + n] = f32(p.grad if p.grad is not None else torch.zeros_like(p))
    return out, cfg


def main():
    torch.manual_seed(20230514)
    d = os.path.join(ROOT, "tests", "fixtures")
    os.makedirs(d, exist_ok=True)
    meta = {"generator": "tools/gen_nn_ref.py", "torch": torch.__version__}
    st.save(os.path.join(d, "nn_ref.safetensors"), layer_fixtures(), meta)
    tensors, cfg = model_fixture()
    st.save(os.path.join(d, "clip_micro_ref.safetensors"), tensors, dict(meta, config=json.dumps(cfg)))
    for f in ("nn_ref.safetensors", "clip_micro_ref.safetensors"):
        print(f, os.path.getsize(os.path.join(d, f)), "bytes")


if __name__ == "__main__":
    main()
