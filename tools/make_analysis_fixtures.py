"""Writes the fixtures of the spatial-disorder analysis and their expected figures.

    /usr/bin/python3 tools/make_analysis_fixtures.py

tests/fixtures/analysis_a.safetensors, analysis_b.safetensors: 'image_features'
and 'text_features' (N=64, E=8, F32, rows L2-normalised) of two "checkpoints":
b = a moved by one random orthogonal map Q for both modalities, the text also
turned by 30 degrees in the (0, 1) plane before Q, plus a little noise.
tests/fixtures/analysis_bad.safetensors: only 'image_features' (an error case);
analysis_other.safetensors: the first 32 pairs of a (a different probe set).
tests/fixtures/analysis_expected.json: the figures computed here independently
with numpy in float64 (SPEC §6 definitions; percentiles and histogram as
src/analysis/rotation.h documents), which tests/test_analysis.c compares against.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py as st  # noqa: E402

N, E = 64, 8
PHI_DEG = 30.0
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def angles(a, b):
    a, b = unit(a), unit(b)
    return np.arccos(np.clip(np.sum(a * b, axis=1), -1.0, 1.0))


def stats(theta):
    deg = np.degrees(theta)
    hist = np.zeros(36, dtype=np.int64)
    for d in deg:
        hist[min(int(np.floor(d / 5.0 + 1e-9)), 35)] += 1
    return {
        "mean_deg": float(deg.mean()),
        "median_deg": float(np.percentile(deg, 50)),
        "p10_deg": float(np.percentile(deg, 10)),
        "p90_deg": float(np.percentile(deg, 90)),
        "hist": hist.tolist(),
    }


def avg_ranks(x):
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    xs = x[order]
    s = 0
    while s < len(x):
        e = s + 1
        while e < len(x) and xs[e] == xs[s]:
            e += 1
        r[order[s:e]] = 0.5 * (s + 1 + e)
        s = e
    return r


def topology(fa, fb):
    a, b = unit(fa), unit(fb)
    iu = np.triu_indices(len(a), 1)
    sa = np.arccos(np.clip((a @ a.T)[iu], -1, 1))
    sb = np.arccos(np.clip((b @ b.T)[iu], -1, 1))
    ra, rb = avg_ranks(sa), avg_ranks(sb)
    rho = np.corrcoef(ra, rb)[0, 1]
    return {"mean_abs_change_deg": float(np.degrees(np.abs(sa - sb)).mean()), "spearman": float(rho)}


def procrustes(a, b):
    u, _, wt = np.linalg.svd(a.T @ b)
    r = u @ wt
    return r, float(np.linalg.norm(a @ r - b) / np.linalg.norm(b))


def spectrum(q):
    return np.sort(np.degrees(np.abs(np.angle(np.linalg.eigvals(q)))))[::-1]


def main():
    rng = np.random.default_rng(20230512)
    va = unit(rng.standard_normal((N, E)))
    ta = unit(va + 0.3 * rng.standard_normal((N, E)))
    q, _ = np.linalg.qr(rng.standard_normal((E, E)))
    g = np.eye(E)
    c, s = np.cos(np.radians(PHI_DEG)), np.sin(np.radians(PHI_DEG))
    g[0, 0], g[0, 1], g[1, 0], g[1, 1] = c, -s, s, c
    vb = unit(va @ q.T + 0.01 * rng.standard_normal((N, E)))
    tb = unit(ta @ g.T @ q.T + 0.01 * rng.standard_normal((N, E)))
    va, ta, vb, tb = (x.astype(np.float32) for x in (va, ta, vb, tb))
    st.save(os.path.join(OUT, "analysis_a.safetensors"), {"image_features": va, "text_features": ta})
    st.save(os.path.join(OUT, "analysis_b.safetensors"), {"image_features": vb, "text_features": tb})
    st.save(os.path.join(OUT, "analysis_bad.safetensors"), {"image_features": va})
    st.save(os.path.join(OUT, "analysis_other.safetensors"), {"image_features": va[:32], "text_features": ta[:32]})

    a64 = [unit(x.astype(np.float64)) for x in (va, ta, vb, tb)]
    va, ta, vb, tb = a64
    pa, pb = angles(va, ta), angles(vb, tb)
    rv, resv = procrustes(va, vb)
    rt, rest = procrustes(ta, tb)
    rel = spectrum(rv.T @ rt)
    expected = {
        "n": N,
        "embed_dim": E,
        "rotation_v": stats(angles(va, vb)),
        "rotation_t": stats(angles(ta, tb)),
        "topology_v": topology(va, vb),
        "topology_t": topology(ta, tb),
        "pair_angle": {
            "mean_a_deg": float(np.degrees(pa).mean()),
            "mean_b_deg": float(np.degrees(pb).mean()),
            "mean_change_deg": float(np.degrees(pb - pa).mean()),
            "mean_abs_change_deg": float(np.degrees(np.abs(pb - pa)).mean()),
        },
        "relative_rotation": {
            "max_deg": float(rel[0]),
            "mean_deg": float(rel.mean()),
            "angles_deg": rel.tolist(),
            "residual_v": resv,
            "residual_t": rest,
        },
    }
    with open(os.path.join(OUT, "analysis_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print("relative rotation max %.4f deg, mean %.4f" % (rel[0], rel.mean()))


if __name__ == "__main__":
    main()
