"""An independent PyTorch implementation of the OpenAI CLIP layout (ViT image
tower + causal text transformer), with OpenCLIP state-dict key names, built
from an OpenCLIP model-config JSON. Used by tools/gen_clip_ref.py to write the
whole-model reference files; never needed to build or test modx.

Config (OpenCLIP JSON): embed_dim; vision_cfg {image_size, layers, width,
patch_size, head_width (default 64), mlp_ratio (default 4)}; text_cfg
{context_length, vocab_size, width, heads, layers, mlp_ratio (default 4)};
quick_gelu (default false: exact erf GELU; true: x·sigmoid(1.702x)).

Keys (i = block index):
  visual.conv1.weight (width, 3, patch, patch)     no bias
  visual.class_embedding (width)
  visual.positional_embedding (grid² + 1, width)
  visual.ln_pre.{weight,bias}
  visual.transformer.resblocks.i.{ln_1.weight, ln_1.bias, attn.in_proj_weight (3w, w),
      attn.in_proj_bias (3w), attn.out_proj.weight, attn.out_proj.bias, ln_2.weight, ln_2.bias,
      mlp.c_fc.weight (4w, w), mlp.c_fc.bias, mlp.c_proj.weight (w, 4w), mlp.c_proj.bias}
  visual.ln_post.{weight,bias}
  visual.proj (width, embed_dim)                    x @ proj
  token_embedding.weight (vocab, width)
  positional_embedding (context, width)
  transformer.resblocks.i.*                         as above
  ln_final.{weight,bias}
  text_projection (width, embed_dim)                x @ text_projection
  logit_scale ()                                    0-dim, s = exp(logit_scale)
Text features are taken at the EOT position = argmax of the token ids (the
end-of-text token has the highest id); image features are ln_post of the class
token, then @ proj. encode_* return UNnormalised features, as OpenCLIP does.
"""

import json
import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """Pre-LN block: x + attn(ln_1(x)); x + mlp(ln_2(x)). Sequence-first (L, N, C)."""

    def __init__(self, width, heads, mlp_ratio, quick_gelu):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, hidden)),
            ("gelu", QuickGELU() if quick_gelu else nn.GELU()),
            ("c_proj", nn.Linear(hidden, width)),
        ]))

    def forward(self, x, attn_mask=None):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mlp_ratio, quick_gelu):
        super().__init__()
        self.resblocks = nn.ModuleList(
            [ResidualAttentionBlock(width, heads, mlp_ratio, quick_gelu) for _ in range(layers)])

    def forward(self, x, attn_mask=None):
        for block in self.resblocks:
            x = block(x, attn_mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch_size, width, layers, heads, mlp_ratio, embed_dim, quick_gelu):
        super().__init__()
        grid = image_size // patch_size
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, mlp_ratio, quick_gelu)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, embed_dim))

    def forward(self, images):                              # (B, 3, H, W)
        x = self.conv1(images)                              # (B, C, g, g)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)  # (B, g², C), row-major patches
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x)
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        v, t = cfg["vision_cfg"], cfg["text_cfg"]
        quick = bool(cfg.get("quick_gelu", False))
        embed = cfg["embed_dim"]
        self.cfg = cfg
        self.visual = VisionTransformer(v["image_size"], v["patch_size"], v["width"], v["layers"],
                                        v["width"] // v.get("head_width", 64), v.get("mlp_ratio", 4.0), embed, quick)
        self.context_length = t["context_length"]
        self.token_embedding = nn.Embedding(t["vocab_size"], t["width"])
        self.positional_embedding = nn.Parameter(torch.zeros(t["context_length"], t["width"]))
        self.transformer = Transformer(t["width"], t["layers"], t["heads"], t.get("mlp_ratio", 4.0), quick)
        self.ln_final = nn.LayerNorm(t["width"])
        self.text_projection = nn.Parameter(torch.zeros(t["width"], embed))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def causal_mask(self, dtype):
        n = self.context_length
        return torch.full((n, n), float("-inf"), dtype=dtype).triu(1)   # −inf above the diagonal

    def encode_image(self, images):
        return self.visual(images)

    def encode_text(self, text):                            # (B, T) int64
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2), self.causal_mask(x.dtype)).permute(1, 0, 2)
        x = self.ln_final(x)
        eot = text.argmax(dim=-1)
        return x[torch.arange(x.shape[0]), eot] @ self.text_projection

    def forward(self, images, text):
        """L2-normalised (image_features, text_features) and s = exp(logit_scale)."""
        return (F.normalize(self.encode_image(images), dim=-1), F.normalize(self.encode_text(text), dim=-1),
                self.logit_scale.exp())


def load_config(path):
    with open(path) as f:
        return json.load(f)


# ---- The same model written out with plain tensor operations from a state dict.
# It spells out the packed attention layout the C code must follow, and
# gen_clip_ref.py asserts that it agrees with the nn.Module version above.

def _layernorm(x, sd, prefix, eps=1e-5):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)          # biased variance
    return (x - mu) / torch.sqrt(var + eps) * sd[prefix + ".weight"] + sd[prefix + ".bias"]


def _attention(x, sd, prefix, heads, causal):
    """x: (B, N, C). in_proj_weight rows [0, C) = q, [C, 2C) = k, [2C, 3C) = v;
    head h uses channels [h·D, (h+1)·D) of each, D = C / heads; scores scaled by 1/sqrt(D)."""
    Bn, N, C = x.shape
    D = C // heads
    qkv = x @ sd[prefix + ".in_proj_weight"].t() + sd[prefix + ".in_proj_bias"]   # (B, N, 3C)
    q, k, v = (qkv[..., i * C:(i + 1) * C].reshape(Bn, N, heads, D).transpose(1, 2) for i in range(3))
    att = (q @ k.transpose(-1, -2)) / math.sqrt(D)                                 # (B, H, N, N)
    if causal:
        att = att.masked_fill(torch.ones(N, N, dtype=torch.bool).triu(1), float("-inf"))
    y = att.softmax(-1) @ v                                                         # (B, H, N, D)
    y = y.transpose(1, 2).reshape(Bn, N, C)
    return y @ sd[prefix + ".out_proj.weight"].t() + sd[prefix + ".out_proj.bias"]


def _blocks(x, sd, prefix, layers, heads, causal, quick_gelu):
    for i in range(layers):
        p = f"{prefix}.resblocks.{i}"
        x = x + _attention(_layernorm(x, sd, p + ".ln_1"), sd, p + ".attn", heads, causal)
        h = _layernorm(x, sd, p + ".ln_2") @ sd[p + ".mlp.c_fc.weight"].t() + sd[p + ".mlp.c_fc.bias"]
        h = h * torch.sigmoid(1.702 * h) if quick_gelu else F.gelu(h)
        x = x + h @ sd[p + ".mlp.c_proj.weight"].t() + sd[p + ".mlp.c_proj.bias"]
    return x


def manual_encode(sd, cfg, images, text):
    """(encode_image, encode_text) from a state dict, no nn.Module involved."""
    v, t = cfg["vision_cfg"], cfg["text_cfg"]
    quick = bool(cfg.get("quick_gelu", False))
    P, C = v["patch_size"], v["width"]
    Bn, _, H, W = images.shape
    # patches in row-major grid order, each flattened as (channel, dy, dx) like conv1.weight
    patches = images.reshape(Bn, 3, H // P, P, W // P, P).permute(0, 2, 4, 1, 3, 5).reshape(Bn, -1, 3 * P * P)
    x = patches @ sd["visual.conv1.weight"].reshape(C, -1).t()
    x = torch.cat([sd["visual.class_embedding"].expand(Bn, 1, C), x], 1) + sd["visual.positional_embedding"]
    x = _layernorm(x, sd, "visual.ln_pre")
    x = _blocks(x, sd, "visual.transformer", v["layers"], C // v.get("head_width", 64), False, quick)
    img = _layernorm(x[:, 0], sd, "visual.ln_post") @ sd["visual.proj"]
    y = sd["token_embedding.weight"][text] + sd["positional_embedding"]
    y = _blocks(y, sd, "transformer", t["layers"], t["heads"], True, quick)
    y = _layernorm(y, sd, "ln_final")
    txt = y[torch.arange(Bn), text.argmax(-1)] @ sd["text_projection"]
    return img, txt
