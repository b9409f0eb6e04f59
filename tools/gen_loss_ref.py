#!/usr/bin/python3
"""Reference values for the contrastive and Mod-X losses (SPEC §3).

Writes tests/fixtures/loss_contrastive.safetensors and
tests/fixtures/loss_modx.safetensors. Everything is computed in float64 with
torch autograd and stored as F32 (masks as I64, scalars as 0-dim tensors).

loss_contrastive: V, T (B=8, E=16, L2-normalised), logit_scale;
    loss, dV, dT, dlogit_scale.
loss_modx: V, T, V_old, T_old, logit_scale, alpha (= 3);
    keep_i2t, keep_t2i (1 = row of Q / Q' kept by the selection);
    loss, loss_con, loss_kl, dV, dT, dlogit_scale        (selection on)
    noselect.loss, noselect.loss_kl, noselect.dV, noselect.dT, noselect.dlogit_scale
The old features are built so that some rows of Q and of Q' have their argmax
off the diagonal and some on it; the script asserts the counts.

Run: /usr/bin/python3 tools/gen_loss_ref.py   (from the repository root)
"""

import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py as st  # noqa: E402

B, E = 8, 16
ALPHA = 3.0
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def normed(x):
    return x / x.norm(dim=-1, keepdim=True)


def contrastive(V, T, logit_scale):
    """CLIP loss: mean CE over rows of s·V·Tᵀ and of s·T·Vᵀ, averaged."""
    s = logit_scale.exp()
    logits_per_image = s * V @ T.t()
    logits_per_text = s * T @ V.t()
    labels = torch.arange(V.shape[0])
    return 0.5 * (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels))


def modx_kl_reference_trick(V, T, Vo, To, select):
    """As the reference implementation: rows of Q whose argmax is off the diagonal
    are replaced by the current model's (detached) row, then KL summed."""
    P, Pp = V @ T.t(), T @ V.t()
    with torch.no_grad():
        Q, Qp = Vo @ To.t(), To @ Vo.t()
    idx = torch.arange(V.shape[0])
    if select:
        keep, keep_p = Q.argmax(dim=1) == idx, Qp.argmax(dim=1) == idx
        Q = torch.where(keep[:, None], Q, P.detach())
        Qp = torch.where(keep_p[:, None], Qp, Pp.detach())
    kl = F.kl_div(F.log_softmax(P, dim=1), F.softmax(Q, dim=1), reduction="sum")
    klp = F.kl_div(F.log_softmax(Pp, dim=1), F.softmax(Qp, dim=1), reduction="sum")
    return 0.5 * (kl + klp)


def modx_kl_masked(V, T, Vo, To, select):
    """Straight from SPEC: Σ over kept rows of KL(softmax(Q_i) ‖ softmax(P_i))."""
    P, Pp = V @ T.t(), T @ V.t()
    Q, Qp = Vo @ To.t(), To @ Vo.t()
    idx = torch.arange(V.shape[0])
    total = 0.0
    for X, Y in ((P, Q), (Pp, Qp)):
        keep = (Y.argmax(dim=1) == idx) if select else torch.ones_like(idx, dtype=torch.bool)
        logq, logp = F.log_softmax(Y, dim=1), F.log_softmax(X, dim=1)
        rows = (logq.exp() * (logq - logp)).sum(dim=1)
        total = total + rows[keep].sum()
    return 0.5 * total


def grads(fn, *leaves):
    leaves = [x.clone().requires_grad_(True) for x in leaves]
    out = fn(*leaves)
    gs = torch.autograd.grad(out, leaves, allow_unused=True)
    return out.detach(), [g if g is not None else torch.zeros_like(x) for g, x in zip(gs, leaves)]


def f32(x):
    return x.detach().to(torch.float32).contiguous()


def gen_contrastive():
    g = torch.Generator().manual_seed(1234)
    V = normed(torch.randn(B, E, generator=g, dtype=torch.float64))
    T = normed(V + 0.8 * torch.randn(B, E, generator=g, dtype=torch.float64))
    ls = torch.tensor(math.log(1 / 0.07) + 0.3, dtype=torch.float64)
    # Round the inputs to F32 first so the reference is exact for what C reads.
    V, T, ls = V.float().double(), T.float().double(), ls.float().double()
    loss, (dV, dT, dls) = grads(contrastive, V, T, ls)
    st.save(os.path.join(OUT, "loss_contrastive.safetensors"),
            {"V": f32(V), "T": f32(T), "logit_scale": f32(ls), "loss": f32(loss), "dV": f32(dV), "dT": f32(dT),
             "dlogit_scale": f32(dls)},
            metadata={"generator": "tools/gen_loss_ref.py", "B": str(B), "E": str(E)})
    print(f"contrastive: loss {loss.item():.6f} |dV|max {dV.abs().max():.3g} dls {dls.item():.4g}")


def gen_modx():
    idx = torch.arange(B)
    for seed in range(100, 1000):
        g = torch.Generator().manual_seed(seed)
        V = normed(torch.randn(B, E, generator=g, dtype=torch.float64))
        T = normed(V + 0.9 * torch.randn(B, E, generator=g, dtype=torch.float64))
        # Old model: a rotated-and-noisy version, pair strength varying per row.
        strength = torch.linspace(0.2, 2.0, B, dtype=torch.float64)[torch.randperm(B, generator=g)]
        Vo = normed(V + 0.5 * torch.randn(B, E, generator=g, dtype=torch.float64))
        To = normed(strength[:, None] * Vo + torch.randn(B, E, generator=g, dtype=torch.float64))
        V, T, Vo, To = (x.float().double() for x in (V, T, Vo, To))
        Q, Qp = Vo @ To.t(), To @ Vo.t()
        keep, keep_p = Q.argmax(1) == idx, Qp.argmax(1) == idx
        # no near-ties, so float32 arithmetic in C selects the same rows
        gap = min((Q.sort(1, descending=True).values[:, 0] - Q.sort(1, descending=True).values[:, 1]).min(),
                  (Qp.sort(1, descending=True).values[:, 0] - Qp.sort(1, descending=True).values[:, 1]).min())
        if 2 <= keep.sum() <= B - 2 and 2 <= keep_p.sum() <= B - 2 and (keep != keep_p).any() and gap > 1e-3:
            break
    else:
        raise SystemExit("no seed gave a mix of kept and excluded rows")
    ls = torch.tensor(math.log(1 / 0.07), dtype=torch.float64).float().double()
    out = {"V": f32(V), "T": f32(T), "V_old": f32(Vo), "T_old": f32(To), "logit_scale": f32(ls),
           "alpha": torch.tensor(ALPHA, dtype=torch.float32),
           "keep_i2t": keep.to(torch.int64), "keep_t2i": keep_p.to(torch.int64)}
    for prefix, select in (("", True), ("noselect.", False)):
        def total(V_, T_, ls_):
            return contrastive(V_, T_, ls_) + ALPHA * modx_kl_reference_trick(V_, T_, Vo, To, select)

        loss, (dV, dT, dls) = grads(total, V, T, ls)
        loss_con = contrastive(V, T, ls)
        kl = modx_kl_reference_trick(V, T, Vo, To, select)
        kl2, (dV2, dT2) = grads(lambda a, b: modx_kl_masked(a, b, Vo, To, select), V, T)
        _, (dVk, dTk) = grads(lambda a, b: modx_kl_reference_trick(a, b, Vo, To, select), V, T)
        assert abs(kl.item() - kl2.item()) < 1e-12, (kl.item(), kl2.item())
        assert (dV2 - dVk).abs().max() < 1e-12 and (dT2 - dTk).abs().max() < 1e-12
        assert abs(loss.item() - (loss_con.item() + ALPHA * kl.item())) < 1e-12
        out.update({prefix + "loss": f32(loss), prefix + "loss_kl": f32(kl), prefix + "dV": f32(dV),
                    prefix + "dT": f32(dT), prefix + "dlogit_scale": f32(dls)})
        if select:
            out["loss_con"] = f32(loss_con)
        print(f"modx select={select}: loss {loss.item():.6f} con {loss_con.item():.6f} kl {kl.item():.6f}")
    print(f"modx: seed {seed}, kept i2t {keep.tolist()} ({int(keep.sum())}/{B}), "
          f"t2i {keep_p.tolist()} ({int(keep_p.sum())}/{B}), min argmax gap {gap:.3g}")
    st.save(os.path.join(OUT, "loss_modx.safetensors"), out,
            metadata={"generator": "tools/gen_loss_ref.py", "B": str(B), "E": str(E), "alpha": str(ALPHA),
                      "seed": str(seed)})


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    gen_contrastive()
    gen_modx()
