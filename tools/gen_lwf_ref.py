#!/usr/bin/python3
"""Reference values for the LwF loss adapted to CLIP (SPEC §3, src/loss/lwf.h).

Writes tests/fixtures/loss_lwf.safetensors. Computed in float64 with torch
autograd (inputs rounded to float32 first, so the reference is exact for what
C reads), stored as F32 with 0-dim tensors for scalars.

    Z  = exp(logit_scale)     · V  @ T.T          (current model)
    Zo = exp(logit_scale_old) · Vo @ To.T         (old model, its own scale)
    L  = ½ [ mean_i H(softmax(Zo_i/τ), log_softmax(Z_i/τ))
           + mean_j H(softmax(Zo.T_j/τ), log_softmax(Z.T_j/τ)) ]

Tensors: V, T, V_old, T_old (B=8, E=16), logit_scale, logit_scale_old, and per
temperature τ in {1, 2} (prefix "tau1." / "tau2."): tau, loss, dV, dT,
dlogit_scale (gradients of L itself, weight 1).

Run: /usr/bin/python3 tools/gen_lwf_ref.py   (from the repository root)
"""

import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py as st  # noqa: E402

B, E = 8, 16
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def normed(x):
    return x / x.norm(dim=-1, keepdim=True)


def soft_ce(target_logits, logits, tau):
    """Mean over rows of −Σ softmax(target/τ) · log_softmax(logits/τ)."""
    q = F.softmax(target_logits / tau, dim=1)
    return -(q * F.log_softmax(logits / tau, dim=1)).sum(dim=1).mean()


def lwf(V, T, ls, Vo, To, ls_old, tau):
    Z = ls.exp() * V @ T.t()
    with torch.no_grad():
        Zo = ls_old.exp() * Vo @ To.t()
    return 0.5 * (soft_ce(Zo, Z, tau) + soft_ce(Zo.t(), Z.t(), tau))


def f32(x):
    return x.detach().to(torch.float32).contiguous()


def main():
    torch.set_default_dtype(torch.float64)
    g = torch.Generator().manual_seed(4321)
    V = normed(torch.randn(B, E, generator=g))
    T = normed(V + 0.8 * torch.randn(B, E, generator=g))
    Vo = normed(V + 0.4 * torch.randn(B, E, generator=g))
    To = normed(Vo + 0.9 * torch.randn(B, E, generator=g))
    ls = torch.tensor(math.log(1 / 0.07) + 0.2)
    ls_old = torch.tensor(math.log(1 / 0.07) - 0.5)
    V, T, Vo, To, ls, ls_old = (x.float().double() for x in (V, T, Vo, To, ls, ls_old))
    out = {"V": f32(V), "T": f32(T), "V_old": f32(Vo), "T_old": f32(To), "logit_scale": f32(ls),
           "logit_scale_old": f32(ls_old)}
    for tau in (1.0, 2.0):
        leaves = [x.clone().requires_grad_(True) for x in (V, T, ls)]
        loss = lwf(leaves[0], leaves[1], leaves[2], Vo, To, ls_old, tau)
        dV, dT, dls = torch.autograd.grad(loss, leaves)
        # identity: soft CE = KL(q ‖ p) + entropy(q) row by row
        Z, Zo = ls.exp() * V @ T.t(), ls_old.exp() * Vo @ To.t()
        parts = 0.0
        for X, Y in ((Z, Zo), (Z.t(), Zo.t())):
            logq, logp = F.log_softmax(Y / tau, dim=1), F.log_softmax(X / tau, dim=1)
            parts = parts + 0.5 * ((logq.exp() * (logq - logp)).sum(1) - (logq.exp() * logq).sum(1)).mean()
        assert abs(parts.item() - loss.item()) < 1e-12, (parts.item(), loss.item())
        p = f"tau{int(tau)}."
        out.update({p + "tau": torch.tensor(tau, dtype=torch.float32), p + "loss": f32(loss), p + "dV": f32(dV),
                    p + "dT": f32(dT), p + "dlogit_scale": f32(dls)})
        print(f"lwf tau={tau}: loss {loss.item():.6f} |dV|max {dV.abs().max():.3g} dls {dls.item():.4g}")
    os.makedirs(OUT, exist_ok=True)
    st.save(os.path.join(OUT, "loss_lwf.safetensors"), out,
            metadata={"generator": "tools/gen_lwf_ref.py", "B": str(B), "E": str(E)})


if __name__ == "__main__":
    main()
