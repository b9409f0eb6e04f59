"""An independent PyTorch implementation of the ModifiedResNet image tower of
OpenAI CLIP / OpenCLIP (stem of three 3×3 convolutions and an average pool,
Bottleneck stages with anti-aliased strides, attention pooling), with OpenCLIP
state-dict key names, and a CLIP built around it with the text tower of
tools/clip_ref.py. Used by tools/gen_rn_fixtures.py; never needed to build or
test modx.

Config (OpenCLIP JSON): vision_cfg {image_size (multiple of 32), layers (list of
4 stage depths), width (stem width), head_width (default 64; attention-pool heads
= 32·width / head_width)}; the rest as tools/clip_ref.py.

Keys (w = width, s = stage, planes = w·2^s):
  visual.conv1.weight (w/2, 3, 3, 3), visual.bn1.*, visual.conv2.weight (w/2, w/2, 3, 3),
  visual.bn2.*, visual.conv3.weight (w, w/2, 3, 3), visual.bn3.*
  visual.layer{s+1}.{i}.conv1/bn1/conv2/bn2/conv3/bn3 and, for the first block of
      a stage that changes width or strides, downsample.0 (1×1 conv) / downsample.1 (BN)
  visual.attnpool.positional_embedding ((S/32)² + 1, 32w), attnpool.{k,q,v,c}_proj.{weight,bias}
  where bn*.* = weight, bias, running_mean, running_var, num_batches_tracked (I64).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import clip_ref


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride > 1 or inplanes != out:
            # keys downsample.0 / downsample.1; the pool ("-1" in OpenCLIP) has no parameters
            self.downsample = nn.ModuleDict({"0": nn.Conv2d(inplanes, out, 1, bias=False), "1": nn.BatchNorm2d(out)})
            self.down_pool = nn.AvgPool2d(stride)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(self.pool(y)))
        identity = x
        if self.downsample is not None:
            identity = self.downsample["1"](self.downsample["0"](self.down_pool(x)))
        return F.relu(y + identity)


class AttentionPool2d(nn.Module):
    def __init__(self, grid, width, heads, out_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width) / width ** 0.5)
        self.k_proj = nn.Linear(width, width)
        self.q_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.c_proj = nn.Linear(width, out_dim)
        self.heads = heads

    def forward(self, x):                                    # (B, C, H, W)
        Bn, C = x.shape[:2]
        x = x.reshape(Bn, C, -1).permute(0, 2, 1)            # (B, HW, C)
        x = torch.cat([x.mean(dim=1, keepdim=True), x], dim=1) + self.positional_embedding
        D = C // self.heads
        q = self.q_proj(x[:, :1]).reshape(Bn, 1, self.heads, D).transpose(1, 2)    # every token's query gives
        k = self.k_proj(x).reshape(Bn, -1, self.heads, D).transpose(1, 2)          # its own output; OpenCLIP
        v = self.v_proj(x).reshape(Bn, -1, self.heads, D).transpose(1, 2)          # keeps token 0's alone
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(D)).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(Bn, C)
        return self.c_proj(y)


class ModifiedResNet(nn.Module):
    def __init__(self, layers, out_dim, heads, image_size, width):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.conv2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.conv3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        inplanes = width
        for s, depth in enumerate(layers):
            planes = width << s
            blocks = []
            for i in range(depth):
                blocks.append(Bottleneck(inplanes, planes, 2 if (i == 0 and s > 0) else 1))
                inplanes = planes * 4
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.attnpool = AttentionPool2d(image_size // 32, width * 32, heads, out_dim)
        self.init_parameters()

    def init_parameters(self):
        std = self.attnpool.c_proj.in_features ** -0.5
        for p in (self.attnpool.q_proj, self.attnpool.k_proj, self.attnpool.v_proj, self.attnpool.c_proj):
            nn.init.normal_(p.weight, std=std)
        for s in range(1, 5):
            for name, p in getattr(self, f"layer{s}").named_parameters():
                if name.endswith("bn3.weight"):
                    nn.init.zeros_(p)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.avg_pool2d(x, 2)
        for s in range(1, 5):
            x = getattr(self, f"layer{s}")(x)
        return self.attnpool(x)


class RNCLIP(nn.Module):
    """CLIP with the ModifiedResNet image tower and clip_ref's text tower."""

    def __init__(self, cfg):
        super().__init__()
        v, t = cfg["vision_cfg"], cfg["text_cfg"]
        quick = bool(cfg.get("quick_gelu", False))
        embed = cfg["embed_dim"]
        self.cfg = cfg
        heads = v["width"] * 32 // v.get("head_width", 64)
        self.visual = ModifiedResNet(v["layers"], embed, heads, v["image_size"], v["width"])
        self.context_length = t["context_length"]
        self.token_embedding = nn.Embedding(t["vocab_size"], t["width"])
        self.positional_embedding = nn.Parameter(torch.zeros(t["context_length"], t["width"]))
        self.transformer = clip_ref.Transformer(t["width"], t["layers"], t["heads"], t.get("mlp_ratio", 4.0), quick)
        self.ln_final = nn.LayerNorm(t["width"])
        self.text_projection = nn.Parameter(torch.zeros(t["width"], embed))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    causal_mask = clip_ref.CLIP.causal_mask
    encode_text = clip_ref.CLIP.encode_text
    forward = clip_ref.CLIP.forward

    def encode_image(self, images):
        return self.visual(images)
