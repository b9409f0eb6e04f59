#!/usr/bin/python3
"""Reference trajectory for the AdamW optimizer (src/train/optim.c) and the
warmup + cosine schedule (src/train/schedule.c).

Writes tests/fixtures/adamw_5steps.safetensors: four parameters in the flat
order w1 (4,3) decayed, b1 (3) not decayed, w2 (2,5) decayed, logit_scale ()
not decayed and clamped to [0, ln 100] after each step (its gradient is
negative, so it is driven above ln 100 and the clamp bites at step 1).
5 steps of torch.optim.AdamW (β 0.9/0.999, ε 1e-8, weight decay 0.2 on the
decayed group, 0 on the other), LambdaLR with OpenCLIP's cosine_lr factor
(base 0.1, warmup 2, total 6), fixed gradients per step, computed in float64
and stored as F32, for two runs: "noclip" and "clip" (clip_grad_norm_ with
max_norm 1.0, which bites on every step).

Tensors: init.<p>; grad<k>.<p> (k = 0..4); <run>.step<k>.<p> (parameters after
update k); <run>.grad_norm (5,) global norm before clipping; lr (5,);
hyper (5,) = [base_lr, warmup, total, weight_decay, max_norm].
Run: /usr/bin/python3 tools/gen_adamw_ref.py   (from the repository root)
"""

import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py as st  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
BASE_LR, WARMUP, TOTAL, WD, MAX_NORM, STEPS = 0.1, 2, 6, 0.2, 1.0, 5
NAMES = ["w1", "b1", "w2", "logit_scale"]


def cosine_factor(step):
    """OpenCLIP cosine_lr, divided by the base rate."""
    if step < WARMUP:
        return (step + 1) / WARMUP
    e, es = step - WARMUP, TOTAL - WARMUP
    return 0.5 * (1 + math.cos(math.pi * e / es))


def rounded(x):
    return x.float().double()


def main():
    g = torch.Generator().manual_seed(7)
    init = {
        "w1": rounded(torch.randn(4, 3, generator=g, dtype=torch.float64)),
        "b1": rounded(0.1 * torch.randn(3, generator=g, dtype=torch.float64)),
        "w2": rounded(torch.randn(2, 5, generator=g, dtype=torch.float64)),
        "logit_scale": rounded(torch.tensor(4.5, dtype=torch.float64)),
    }
    grads = []
    for k in range(STEPS):
        gk = {n: rounded(0.5 * torch.randn(init[n].shape, generator=g, dtype=torch.float64)) for n in NAMES}
        gk["logit_scale"] = rounded(torch.tensor(-1.0 - 0.1 * k, dtype=torch.float64))
        if k == 3:  # a gradient much smaller than the others, so ε and bias correction matter
            gk["b1"] = rounded(gk["b1"] * 1e-4)
        grads.append(gk)

    out = {f"init.{n}": init[n].float() for n in NAMES}
    for k in range(STEPS):
        out.update({f"grad{k}.{n}": grads[k][n].float() for n in NAMES})
    out["lr"] = torch.tensor([BASE_LR * cosine_factor(k) for k in range(STEPS)], dtype=torch.float32)
    out["hyper"] = torch.tensor([BASE_LR, WARMUP, TOTAL, WD, MAX_NORM], dtype=torch.float32)

    clamp_bit = False
    for run, clip in (("noclip", False), ("clip", True)):
        params = {n: torch.nn.Parameter(init[n].clone()) for n in NAMES}
        opt = torch.optim.AdamW(
            [{"params": [params["w1"], params["w2"]], "weight_decay": WD},
             {"params": [params["b1"], params["logit_scale"]], "weight_decay": 0.0}],
            lr=BASE_LR, betas=(0.9, 0.999), eps=1e-8)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_factor)
        norms = []
        for k in range(STEPS):
            assert abs(opt.param_groups[0]["lr"] - BASE_LR * cosine_factor(k)) < 1e-15
            for n in NAMES:
                params[n].grad = grads[k][n].clone()
            if clip:
                norms.append(float(torch.nn.utils.clip_grad_norm_([params[n] for n in NAMES], MAX_NORM)))
                assert norms[-1] > MAX_NORM, "clipping should bite on every step"
            else:
                norms.append(float(torch.cat([grads[k][n].reshape(-1) for n in NAMES]).norm()))
            opt.step()
            sched.step()
            with torch.no_grad():
                before = params["logit_scale"].item()
                params["logit_scale"].clamp_(0, math.log(100))
                clamp_bit |= before > math.log(100)
            out.update({f"{run}.step{k}.{n}": params[n].detach().float() for n in NAMES})
        out[f"{run}.grad_norm"] = torch.tensor(norms, dtype=torch.float32)
        print(f"{run}: grad norms {[round(x, 4) for x in norms]}, final logit_scale "
              f"{params['logit_scale'].item():.6f}, w1[0,0] {params['w1'][0, 0].item():.6f}")
    assert clamp_bit, "the logit_scale clamp never bit"
    st.save(os.path.join(OUT, "adamw_5steps.safetensors"), out, metadata={"generator": "tools/gen_adamw_ref.py"})


if __name__ == "__main__":
    main()
