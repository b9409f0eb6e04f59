"""A minimal PyTorch CLIP with the module structure and state-dict names of
Hugging Face transformers' CLIPModel (ViT towers), written here because
transformers is not installed; used by tools/gen_hf_fixtures.py. Never needed
to build or test modx.

Semantics follow transformers' modeling_clip.py:
  * attention: separate q/k/v/out Linear layers with biases; q scaled by head_dim^-0.5;
  * MLP: fc1, activation (hidden_act "quick_gelu": x*sigmoid(1.702x), "gelu": exact erf), fc2;
  * pre-LN layers: x + attn(layer_norm1(x)); x + mlp(layer_norm2(x)); LayerNorm eps 1e-5;
  * vision: patch_embedding Conv2d (no bias), class_embedding prepended, position_embedding
    added, then pre_layrnorm (sic), encoder, post_layernorm of the class token, visual_projection;
  * text: token + position embeddings, causal encoder, final_layer_norm, the token at the
    argmax of the ids (the end-of-text token has the highest id), text_projection;
  * position_ids are non-persistent buffers (as in current transformers), so the state dict
    has the parameters only; older hub files also hold them, which loaders ignore.

State-dict names (i = layer):
  text_model.embeddings.token_embedding.weight, text_model.embeddings.position_embedding.weight,
  text_model.encoder.layers.i.self_attn.{k,v,q,out}_proj.{weight,bias},
  text_model.encoder.layers.i.layer_norm1.*, .mlp.fc1.*, .mlp.fc2.*, .layer_norm2.*,
  text_model.final_layer_norm.*, vision_model.embeddings.{class_embedding, patch_embedding.weight,
  position_embedding.weight}, vision_model.pre_layrnorm.*, vision_model.encoder.layers.i.*,
  vision_model.post_layernorm.*, visual_projection.weight, text_projection.weight, logit_scale.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class CLIPAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.scale = self.head_dim ** -0.5
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.q_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x, causal):
        B, N, C = x.shape

        def split(t):
            return t.reshape(B, N, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.q_proj(x) * self.scale), split(self.k_proj(x)), split(self.v_proj(x))
        att = q @ k.transpose(-1, -2)
        if causal:
            att = att.masked_fill(torch.ones(N, N, dtype=torch.bool).triu(1), float("-inf"))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, N, C)
        return self.out_proj(y)


class CLIPMLP(nn.Module):
    def __init__(self, width, hidden, act):
        super().__init__()
        if act not in ("quick_gelu", "gelu"):
            raise ValueError(f"hidden_act {act!r}: expected quick_gelu or gelu")
        self.act = act
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x):
        h = self.fc1(x)
        h = h * torch.sigmoid(1.702 * h) if self.act == "quick_gelu" else F.gelu(h)
        return self.fc2(h)


class CLIPEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = CLIPAttention(c["hidden_size"], c["num_attention_heads"])
        self.layer_norm1 = nn.LayerNorm(c["hidden_size"], eps=c.get("layer_norm_eps", 1e-5))
        self.mlp = CLIPMLP(c["hidden_size"], c["intermediate_size"], c.get("hidden_act", "quick_gelu"))
        self.layer_norm2 = nn.LayerNorm(c["hidden_size"], eps=c.get("layer_norm_eps", 1e-5))

    def forward(self, x, causal):
        x = x + self.self_attn(self.layer_norm1(x), causal)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, causal):
        for layer in self.layers:
            x = layer(x, causal)
        return x


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embedding = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand(1, -1),
                             persistent=False)

    def forward(self, ids):
        return self.token_embedding(ids) + self.position_embedding(self.position_ids[:, : ids.shape[1]])


class CLIPTextTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(c)
        self.encoder = CLIPEncoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c.get("layer_norm_eps", 1e-5))

    def forward(self, ids):
        x = self.final_layer_norm(self.encoder(self.embeddings(ids), causal=True))
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)]


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, P = c["hidden_size"], c["patch_size"]
        self.num_positions = (c["image_size"] // P) ** 2 + 1
        self.class_embedding = nn.Parameter(torch.randn(C))
        self.patch_embedding = nn.Conv2d(c.get("num_channels", 3), C, kernel_size=P, stride=P, bias=False)
        self.position_embedding = nn.Embedding(self.num_positions, C)
        self.register_buffer("position_ids", torch.arange(self.num_positions).expand(1, -1), persistent=False)

    def forward(self, images):
        x = self.patch_embedding(images).flatten(2).transpose(1, 2)        # (B, g², C), row-major patches
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        return torch.cat([cls, x], dim=1) + self.position_embedding(self.position_ids)


class CLIPVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        eps = c.get("layer_norm_eps", 1e-5)
        self.embeddings = CLIPVisionEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(c["hidden_size"], eps=eps)
        self.encoder = CLIPEncoder(c)
        self.post_layernorm = nn.LayerNorm(c["hidden_size"], eps=eps)

    def forward(self, images):
        x = self.encoder(self.pre_layrnorm(self.embeddings(images)), causal=False)
        return self.post_layernorm(x[:, 0, :])


class CLIPModel(nn.Module):
    """config: a transformers CLIPConfig as a dict (config.json)."""

    def __init__(self, config):
        super().__init__()
        t, v = config["text_config"], config["vision_config"]
        E = config["projection_dim"]
        self.text_model = CLIPTextTransformer(t)
        self.vision_model = CLIPVisionTransformer(v)
        self.visual_projection = nn.Linear(v["hidden_size"], E, bias=False)
        self.text_projection = nn.Linear(t["hidden_size"], E, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config.get("logit_scale_init_value", math.log(1 / 0.07))))

    def get_image_features(self, images):
        return self.visual_projection(self.vision_model(images))

    def get_text_features(self, ids):
        return self.text_projection(self.text_model(ids))


def hf_config_from_openclip(cfg):
    """The transformers config.json (as a dict) of an OpenCLIP model config (ViT)."""
    v, t = cfg["vision_cfg"], cfg["text_cfg"]
    act = "quick_gelu" if cfg.get("quick_gelu", False) else "gelu"
    vw, tw = v["width"], t["width"]
    return {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": cfg["embed_dim"],
        "logit_scale_init_value": 2.6592,
        "text_config": {"hidden_size": tw, "intermediate_size": int(tw * t.get("mlp_ratio", 4.0)),
                        "num_attention_heads": t["heads"], "num_hidden_layers": t["layers"],
                        "max_position_embeddings": t["context_length"], "vocab_size": t["vocab_size"],
                        "hidden_act": act, "layer_norm_eps": 1e-5},
        "vision_config": {"hidden_size": vw, "intermediate_size": int(vw * v.get("mlp_ratio", 4.0)),
                          "num_attention_heads": vw // v.get("head_width", 64), "num_hidden_layers": v["layers"],
                          "image_size": v["image_size"], "patch_size": v["patch_size"], "num_channels": 3,
                          "hidden_act": act, "layer_norm_eps": 1e-5},
    }


_BLOCK = [("ln_1.", "layer_norm1."), ("ln_2.", "layer_norm2."), ("attn.out_proj.", "self_attn.out_proj."),
          ("mlp.c_fc.", "mlp.fc1."), ("mlp.c_proj.", "mlp.fc2.")]
_EXACT = {
    "visual.class_embedding": "vision_model.embeddings.class_embedding",
    "visual.conv1.weight": "vision_model.embeddings.patch_embedding.weight",
    "visual.positional_embedding": "vision_model.embeddings.position_embedding.weight",
    "visual.ln_pre.weight": "vision_model.pre_layrnorm.weight",
    "visual.ln_pre.bias": "vision_model.pre_layrnorm.bias",
    "visual.ln_post.weight": "vision_model.post_layernorm.weight",
    "visual.ln_post.bias": "vision_model.post_layernorm.bias",
    "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
    "positional_embedding": "text_model.embeddings.position_embedding.weight",
    "ln_final.weight": "text_model.final_layer_norm.weight",
    "ln_final.bias": "text_model.final_layer_norm.bias",
    "logit_scale": "logit_scale",
}
_TOWERS = [("visual.transformer.resblocks.", "vision_model.encoder.layers."),
           ("transformer.resblocks.", "text_model.encoder.layers.")]


def openclip_to_hf(sd):
    """An OpenCLIP state dict (ViT) under transformers names: q/k/v split, projections transposed."""
    out = {}
    for name, t in sd.items():
        if name in _EXACT:
            out[_EXACT[name]] = t
        elif name == "visual.proj":
            out["visual_projection.weight"] = t.t().contiguous()
        elif name == "text_projection":
            out["text_projection.weight"] = t.t().contiguous()
        else:
            src, dst = next((s, d) for s, d in _TOWERS if name.startswith(s))
            i, rest = name[len(src):].split(".", 1)
            base = f"{dst}{i}."
            if rest in ("attn.in_proj_weight", "attn.in_proj_bias"):
                kind = "weight" if rest.endswith("weight") else "bias"
                for part, qkv in zip(t.chunk(3, dim=0), "qkv"):
                    out[f"{base}self_attn.{qkv}_proj.{kind}"] = part.contiguous()
            else:
                s, d = next((s, d) for s, d in _BLOCK if rest.startswith(s))
                out[base + d + rest[len(s):]] = t
    return out
