#!/usr/bin/python3
"""The PyTorch peer of bench_step: the same CLIP config (tools/clip_ref.py, the
OpenAI layout with nn.MultiheadAttention), the same batch size, a full training
step (forward, loss, backward, AdamW, logit_scale clamp), median ms/step.

  /usr/bin/python3 bench/torch_step.py CONFIG.json --batch B --steps N [--modx] [--bf16] [--gflop G]
--gflop: FLOPs per step as counted by bench_step, to print GFLOP/s on the same count.
--bf16: forward and loss under torch.autocast("cpu", dtype=torch.bfloat16)
(PyTorch's own mixed precision: bf16 products, fp32 weights and optimizer).
The line ends with the process's peak resident memory (ru_maxrss).
"""
import argparse
import contextlib
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from clip_ref import CLIP, load_config  # noqa: E402
from rn_ref import RNCLIP  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modx", action="store_true")
    ap.add_argument("--gflop", type=float, default=0.0)
    ap.add_argument("--bf16", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = load_config(a.config)
    Model = RNCLIP if isinstance(cfg["vision_cfg"]["layers"], list) else CLIP  # ModifiedResNet or ViT tower
    model = Model(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name != "logit_scale" and p.dim() >= 2:
                p.normal_(0, 0.02)
    old = None
    if a.modx:
        old = Model(cfg)
        old.load_state_dict(model.state_dict())
        old.eval()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "ln" not in n and "bias" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "ln" not in n and "bias" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    B = a.batch
    S, T, V = cfg["vision_cfg"]["image_size"], cfg["text_cfg"]["context_length"], cfg["text_cfg"]["vocab_size"]
    images = torch.randn(B, 3, S, S)
    texts = torch.zeros(B, T, dtype=torch.long)
    g = torch.Generator().manual_seed(7)
    for b in range(B):
        n = 2 + int(torch.randint(0, T - 1, (1,), generator=g))
        texts[b, 0] = V - 2
        texts[b, 1:n - 1] = torch.randint(1, V - 2, (n - 2,), generator=g)
        texts[b, n - 1] = V - 1
    labels = torch.arange(B)
    alpha = 20.0 * 280 / B
    times = []
    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16) if a.bf16 else contextlib.nullcontext()
    for i in range(a.steps + 2):
        t0 = time.perf_counter()
        with autocast():
            loss = step_loss(model, old, images, texts, labels, alpha)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1e3)
    med = statistics.median(times)
    gf = f", {a.gflop / (med / 1e3):.1f} GFLOP/s" if a.gflop else ""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kind = ("mod-x" if a.modx else "clip") + ("-bf16" if a.bf16 else "")
    print(f"torch {kind}  {a.config} B={B} threads={torch.get_num_threads()}: "
          f"median {med:.1f} ms/step, {B / (med / 1e3):.1f} samples/s{gf} (torch {torch.__version__}) "
          f"peak RSS {rss:.0f} MiB")


def step_loss(model, old, images, texts, labels, alpha):
    """CLIP loss, plus the Mod-X term against the frozen old model when given."""
    Vf, Tf, s = model(images, texts)
    logits = s * Vf @ Tf.t()
    loss = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))
    if old is not None:
        with torch.no_grad():
            Vo, To, _ = old(images, texts)
            Q, Qp = Vo @ To.t(), To @ Vo.t()
        P, Pp = Vf @ Tf.t(), Tf @ Vf.t()
        keep, keep_p = Q.argmax(1) == labels, Qp.argmax(1) == labels
        Q = torch.where(keep[:, None], Q, P.detach())
        Qp = torch.where(keep_p[:, None], Qp, Pp.detach())
        kl = 0.5 * (F.kl_div(F.log_softmax(P, 1), F.softmax(Q, 1), reduction="sum")
                    + F.kl_div(F.log_softmax(Pp, 1), F.softmax(Qp, 1), reduction="sum"))
        loss = loss + alpha * kl
    return loss


if __name__ == "__main__":
    main()
