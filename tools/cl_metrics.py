#!/usr/bin/env python3
"""Recomputes every continual-learning figure of a modx summary.json from the
file's own accuracy matrices and compares it with the figure stored there.

    python3 tools/cl_metrics.py RUN_DIR/summary.json [--tol 1e-6]

A run with "seeds" (format modx-summary-seeds-1): each seed's figures are
recomputed from that seed's matrices ("per_seed"), then their mean and sample
standard deviation over seeds, and the mean and sd matrices, are compared with
the stored ones.

An independent implementation of docs/metrics.md (standard library only; it
shares no code with src/analysis/clmetrics.c). Prints one line per strategy
and exits 1 when a stored figure differs from the recomputed one by more than
--tol, or when one is null where a number is due (or the reverse)."""
import argparse
import json
import math
import sys

FIGURES = ["last", "avg_incremental", "bwt", "fwt", "forgetting", "kept_pct", "learned_pct"]


def mean(xs):
    xs = list(xs)
    if not xs or any(x is None for x in xs):
        return None
    return math.fsum(xs) / len(xs)


def sub(a, b):
    return None if a is None or b is None else a - b


def pct(num, den):
    if num is None or den is None or den == 0:
        return None
    return 100.0 * num / den


def figures(R, T, domain, joint, finetune):
    """R[i][j] with None for a missing cell; joint/finetune: matrices or None."""
    f = dict.fromkeys(FIGURES)
    f["last"] = mean(R[T])
    rows = [mean(R[i][: i + 1] if domain else R[i]) for i in range(T + 1)]
    f["avg_incremental"] = mean(rows)
    intr = [None] * T
    if not domain:
        return f, intr
    if T >= 1:
        f["bwt"] = mean(sub(R[T][j], R[j][j]) for j in range(T))
        best = []
        for j in range(T):
            col = [R[l][j] for l in range(j, T)]
            best.append(None if any(v is None for v in col) else max(col))
        f["forgetting"] = mean(sub(best[j], R[T][j]) for j in range(T))
    if T >= 2:
        f["fwt"] = mean(sub(R[j - 1][j], R[0][j]) for j in range(2, T + 1))
    if joint is not None:
        f["kept_pct"] = pct(R[T][0], joint[T][0])
        intr = [sub(joint[T][j], R[j][j]) for j in range(1, T + 1)]
    if finetune is not None and T >= 1:
        f["learned_pct"] = pct(mean(R[j][j] for j in range(1, T + 1)), mean(finetune[j][j] for j in range(1, T + 1)))
    return f, intr


def close(a, b, tol):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol


def mean_sd(xs):
    """Mean and sample sd (n - 1); None when any value is None, sd None for one value."""
    xs = list(xs)
    if any(x is None for x in xs):
        return None, None
    m = math.fsum(xs) / len(xs)
    if len(xs) < 2:
        return m, None
    return m, math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def check_matrix(name, m, T, domain):
    R = m["r1"]
    if m["phases"] != list(range(T + 1)) or len(R) != T + 1 or any(len(r) != len(m["test_sets"]) for r in R):
        print(f"{name}: the matrix is not (T + 1) x test_sets with phases 0..T", file=sys.stderr)
        return False
    if domain and len(m["test_sets"]) != T + 1:
        print(f"{name}: a domain stream needs T + 1 = {T + 1} columns", file=sys.stderr)
        return False
    return True


def check_seeds(s, tol):
    """summary.json of a run with seeds: per-seed figures, then mean and sd over seeds."""
    T, domain, strategies, seeds = s["T"], s["stream"] == "domain", s["strategies"], s["seeds"]
    bad = 0
    for name, x in strategies.items():
        if len(x["per_seed"]) != len(seeds) or [p["seed"] for p in x["per_seed"]] != seeds:
            print(f"MISMATCH {name}: per_seed does not list the seeds {seeds}")
            return 1
        if not all(check_matrix(name, p["matrix"], T, domain) for p in x["per_seed"]):
            return 1
    recomputed = {}
    for name, x in strategies.items():
        rows = []
        for k, p in enumerate(x["per_seed"]):
            joint = strategies["joint"]["per_seed"][k]["matrix"]["r1"] if "joint" in strategies else None
            ft = strategies["finetune"]["per_seed"][k]["matrix"]["r1"] if "finetune" in strategies else None
            want, _ = figures(p["matrix"]["r1"], T, domain, joint, ft)
            for f in FIGURES:
                if not close(p[f], want[f], tol):
                    print(f"MISMATCH {name} seed {p['seed']} {f}: summary.json {p[f]}, recomputed {want[f]}")
                    bad = 1
            rows.append(want)
        recomputed[name] = rows
        for f in FIGURES:
            m, sd = mean_sd(r[f] for r in rows)
            if not close(x[f], m, tol) or not close(x["sd"][f], sd, tol):
                print(f"MISMATCH {name} {f}: summary.json {x[f]} ± {x['sd'][f]}, recomputed {m} ± {sd}")
                bad = 1
        mats = [p["matrix"]["r1"] for p in x["per_seed"]]
        for i in range(T + 1):
            for j in range(len(x["matrix"]["test_sets"])):
                m, sd = mean_sd(M[i][j] for M in mats)
                if not close(x["matrix"]["r1"][i][j], m, tol) or not close(x["matrix"]["r1_sd"][i][j], sd, tol):
                    print(f"MISMATCH {name} R[{i}][{j}]: summary.json {x['matrix']['r1'][i][j]} ± "
                          f"{x['matrix']['r1_sd'][i][j]}, recomputed {m} ± {sd}")
                    bad = 1
        shown = " ".join(f"{k}={'null' if x[k] is None else format(x[k], '.4f')}" for k in FIGURES)
        print(f"{name}: mean over {len(seeds)} seeds {shown}")
    print("agree" if not bad else "DIFFER", f"to {tol:g}: {len(strategies)} strategies, seeds {seeds}")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("summary")
    ap.add_argument("--tol", type=float, default=1e-6)
    a = ap.parse_args()
    with open(a.summary, encoding="utf-8") as fh:
        s = json.load(fh)
    if s.get("format") == "modx-summary-seeds-1":
        return check_seeds(s, a.tol)
    T, domain, strategies = s["T"], s["stream"] == "domain", s["strategies"]
    mats = {}
    for name, x in strategies.items():
        m = x["matrix"]
        R = m["r1"]
        if m["phases"] != list(range(T + 1)) or len(R) != T + 1 or any(len(r) != len(m["test_sets"]) for r in R):
            print(f"{name}: the matrix is not (T + 1) x test_sets with phases 0..T", file=sys.stderr)
            return 1
        if domain and len(m["test_sets"]) != T + 1:
            print(f"{name}: a domain stream needs T + 1 = {T + 1} columns", file=sys.stderr)
            return 1
        mats[name] = R
    bad = 0
    for name, x in strategies.items():
        want, intr = figures(mats[name], T, domain, mats.get("joint"), mats.get("finetune"))
        worst = 0.0
        for k in FIGURES:
            if not close(x[k], want[k], a.tol):
                print(f"MISMATCH {name} {k}: summary.json {x[k]}, recomputed {want[k]}")
                bad = 1
            elif want[k] is not None:
                worst = max(worst, abs(x[k] - want[k]))
        got_intr = x.get("intransigence")
        if got_intr is None or len(got_intr) != T or not all(close(g, w, a.tol) for g, w in zip(got_intr, intr)):
            print(f"MISMATCH {name} intransigence: summary.json {got_intr}, recomputed {intr}")
            bad = 1
        shown = " ".join(f"{k}={'null' if want[k] is None else format(want[k], '.4f')}" for k in FIGURES)
        print(f"{name}: {shown} (max diff {worst:.3g})")
    print("agree" if not bad else "DIFFER", f"to {a.tol:g}: {len(strategies)} strategies")
    return bad


if __name__ == "__main__":
    sys.exit(main())
