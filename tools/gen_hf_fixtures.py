#!/usr/bin/python3
"""Hugging Face-named checkpoints of the whole-model reference cases, for the
checkpoint-naming tests (tests/test_hf_names.c, tests/cli/test_convert.sh):

  tests/fixtures/hf_micro/model.safetensors, config.json   from clip_micro_ckpt.safetensors (QuickGELU)
  tests/fixtures/hf_gelu/model.safetensors,  config.json   from clip_gelu_ckpt.safetensors (exact GELU,
                                                           MLP ratio 2, 3 text layers of 4 heads)

Each is the same weights as the OpenCLIP-named file, under transformers' CLIPModel
names (tools/hf_clip_ref.py), written as a hub folder is: model.safetensors with
metadata {"format": "pt"} and no modx metadata, plus the position_ids buffers
(I64) that older hub files hold, and a transformers config.json beside it.

Checks while writing (the run fails otherwise):
  * the HF-structured module loads the converted state dict with strict=True;
  * its get_image_features / get_text_features on the case's batch, L2-normalised,
    match the OpenCLIP reference's expected features within 1e-5 (both in float64);
  * with modx built (build/modx, or $MODX), files written by `modx convert` both ways
    (OpenCLIP -> HF with --hf-config, and the HF fixture -> OpenCLIP) load in the matching
    reference with strict=True, hold the same weights bit for bit and give the features.

  --check FILE CONFIG   loads FILE (either naming, e.g. written by `modx convert`) into the
                        matching PyTorch reference with strict=True (CONFIG: the OpenCLIP
                        model config or an HF config.json) and prints its features' agreement
                        with the case whose weights it holds, when it is one of the two.

Run: /usr/bin/python3 tools/gen_hf_fixtures.py  (from the repository root)
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_py as st  # noqa: E402
from clip_ref import CLIP  # noqa: E402
from hf_clip_ref import CLIPModel, hf_config_from_openclip, openclip_to_hf  # noqa: E402

FIX = os.path.join(HERE, "..", "tests", "fixtures")
CASES = [("clip_micro", "hf_micro"), ("clip_gelu", "hf_gelu")]


def hf_features(model, images, texts):
    with torch.no_grad():
        return (F.normalize(model.get_image_features(images), dim=-1),
                F.normalize(model.get_text_features(texts), dim=-1))


def strict_hf(hf_cfg, sd):
    model = CLIPModel(hf_cfg).double()
    model.load_state_dict({k: v.double() for k, v in sd.items() if not k.endswith("position_ids")}, strict=True)
    return model


def case_tensors(prefix):
    batch, _ = st.load(os.path.join(FIX, f"{prefix}_batch.safetensors"))
    exp, _ = st.load(os.path.join(FIX, f"{prefix}_expected.safetensors"))
    return batch["images"].double(), batch["texts"].long(), exp


def worst(a, b):
    return (a.double() - b.double()).abs().max().item()


def generate(prefix, out_dir):
    with open(os.path.join(FIX, f"{prefix}.json")) as f:
        cfg = json.load(f)
    sd, _ = st.load(os.path.join(FIX, f"{prefix}_ckpt.safetensors"))
    images, texts, exp = case_tensors(prefix)
    hf_cfg = hf_config_from_openclip(cfg)
    hf_sd = openclip_to_hf(sd)
    model = strict_hf(hf_cfg, hf_sd)
    ref = CLIP(cfg).double()
    ref.load_state_dict({k: v.double() for k, v in sd.items()}, strict=True)
    img, txt = hf_features(model, images, texts)
    with torch.no_grad():
        rimg, rtxt, _ = ref(images, texts)
    e_exp = max(worst(img, exp["image_features"]), worst(txt, exp["text_features"]))
    e_ref = max(worst(img, rimg), worst(txt, rtxt))
    assert e_exp < 1e-5 and e_ref < 1e-10, f"{prefix}: HF module differs: {e_exp} (expected), {e_ref} (reference)"
    print(f"{out_dir}: HF-structured features vs OpenCLIP reference {e_ref:.2g}, vs expected fixture {e_exp:.2g}")
    tensors = {k: v.float().contiguous() for k, v in model.state_dict().items()}
    for tower in ("text_model", "vision_model"):
        n = tensors[f"{tower}.embeddings.position_embedding.weight"].shape[0]
        tensors[f"{tower}.embeddings.position_ids"] = torch.arange(n, dtype=torch.int64).reshape(1, n)
    path = os.path.join(FIX, out_dir)
    os.makedirs(path, exist_ok=True)
    st.save(os.path.join(path, "model.safetensors"), tensors, metadata={"format": "pt"})
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(hf_cfg, f, indent=2)
        f.write("\n")


def check(path, config_path):
    sd, meta = st.load(path)
    with open(config_path) as f:
        cfg = json.load(f)
    hf_names = any(k.startswith(("vision_model.", "text_model.")) for k in sd)
    if hf_names:
        model = strict_hf(cfg if "vision_config" in cfg else hf_config_from_openclip(cfg), sd)
    else:
        model = CLIP(cfg).double()
        model.load_state_dict({k: v.double() for k, v in sd.items()}, strict=True)
    print(f"{path}: {len(sd)} tensors, {'HF' if hf_names else 'OpenCLIP'} names: strict=True load OK")
    for prefix, _ in CASES:
        ref, _ = st.load(os.path.join(FIX, f"{prefix}_ckpt.safetensors"))
        mine = openclip_to_hf(ref) if hf_names else ref
        if set(mine) - set(sd) or any(mine[k].shape != sd[k].shape for k in mine):
            continue
        same = all(torch.equal(mine[k].float(), sd[k].float()) for k in mine)
        images, texts, exp = case_tensors(prefix)
        if hf_names:
            img, txt = hf_features(model, images, texts)
        else:
            with torch.no_grad():
                img, txt, _ = model(images, texts)
        e = max(worst(img, exp["image_features"]), worst(txt, exp["text_features"]))
        print(f"  weights of {prefix}: bit-identical {same}; features vs expected {e:.2g}")
        if not same or e >= 1e-5:
            raise SystemExit(f"{path}: does not reproduce {prefix}")


def check_modx(modx):
    """Files written by `modx convert` both ways load in the references with strict=True
    and hold the fixtures' weights bit for bit."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for prefix, out_dir in CASES:
            cfg = os.path.join(FIX, f"{prefix}.json")
            hf_out, oc_out = os.path.join(tmp, f"{prefix}_hf.safetensors"), os.path.join(tmp, f"{prefix}_oc.safetensors")
            hf_cfg = os.path.join(tmp, f"{prefix}_config.json")
            subprocess.run([modx, "convert", os.path.join(FIX, f"{prefix}_ckpt.safetensors"), hf_out, "--config", cfg,
                            "--to", "hf", "--hf-config", hf_cfg], check=True, stdout=subprocess.DEVNULL)
            subprocess.run([modx, "convert", os.path.join(FIX, out_dir, "model.safetensors"), oc_out, "--to",
                            "openclip"], check=True, stdout=subprocess.DEVNULL)
            check(hf_out, hf_cfg)
            check(oc_out, cfg)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--check":
        check(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) != 1:
        raise SystemExit("usage: gen_hf_fixtures.py [--check FILE CONFIG]")
    torch.manual_seed(0)
    for prefix, out_dir in CASES:
        generate(prefix, out_dir)
    modx = os.environ.get("MODX", os.path.join(HERE, "..", "build", "modx"))
    if os.path.exists(modx):
        check_modx(modx)
    else:
        print(f"{modx} not built: the strict=True loading of modx-written files was not checked")


if __name__ == "__main__":
    main()
