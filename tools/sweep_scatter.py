#!/usr/bin/env python3
"""The keep-vs-learn figure and table of a sweep run as several runs of one
experiment file (the README's "Which strategy wins the keep/learn trade").

Reads the summary.json (format "modx-summary-seeds-1", docs/run-directory.md)
of each RUN_DIR, merges their strategies (variants of one strategy kept together) (a strategy in several runs, such as
the references joint and finetune, must have the same figures in each: the runs
share phase 0 and the seeds, so they are checked to agree), and writes
  --svg FILE   the scatter: learned % (x) against kept % (y), mean ± sd bars over
               the seeds, the target lines (kept 80 %, learned 90 %)
  stdout       the Markdown table: kept, learned, Last, BWT, forgetting (mean ± sd)
               and the compute over phases 1..T (samples, forward+backward passes,
               frozen forwards; train seconds mean ± sd)
Usage: sweep_scatter.py RUN_DIR... [--svg FILE] [--keep 80] [--learn 90]
Standard library only."""
import argparse, json, math, os, re, sys

FIGS = ["kept_pct", "learned_pct", "last", "bwt", "forgetting"]


def load(run):
    with open(os.path.join(run, "summary.json")) as f:
        s = json.load(f)
    if s.get("format") != "modx-summary-seeds-1":
        sys.exit(f"{run}/summary.json: format {s.get('format')!r}, expected 'modx-summary-seeds-1'")
    return s


def same(a, b):
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def merge(runs):
    names, out, seeds = [], {}, None
    for run in runs:
        s = load(run)
        if seeds is not None and s["seeds"] != seeds:
            sys.exit(f"{run}: seeds {s['seeds']}, the first run has {seeds}")
        seeds = s["seeds"]
        for name, x in s["strategies"].items():
            if name in out:
                for f in FIGS:
                    if not same(out[name][f], x[f]) or not same(out[name]["sd"][f], x["sd"][f]):
                        sys.exit(f"{run}: {name} {f} = {x[f]}, another run has {out[name][f]}")
                continue
            names.append(name)
            out[name] = x
    return names, out, seeds


def grouped(names):
    """Variants of one strategy together (in the order their strategy first appears), by their
    last number within it (zscl-l0.5, zscl-l1, zscl-l2)."""
    fam = lambda n: n.split("-")[0]
    first = {}
    for i, n in enumerate(names):
        first.setdefault(fam(n), i)
    def last_number(n):
        m = re.search(r"([0-9]+(?:\.[0-9]+)?)$", n)
        return float(m.group(1)) if m else -1.0
    return sorted(names, key=lambda n: (first[fam(n)], last_number(n)))


def pm(x, key, digits=1):
    m, s = x.get(key), x["sd"].get(key)
    if m is None:
        return "–"
    return f"{m:.{digits}f} ± {s:.{digits}f}" if s is not None else f"{m:.{digits}f}"


def table(names, out):
    print("| strategy | kept % | learned % | Last | BWT | forgetting | samples | fwd+bwd passes | frozen fwd | train s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in names:
        x, c = out[n], out[n]["compute"]
        tr = [p["compute"]["train_wall_s"] for p in x["per_seed"] if p.get("compute")]
        mean = sum(tr) / len(tr) if tr else float("nan")
        sd = math.sqrt(sum((t - mean) ** 2 for t in tr) / (len(tr) - 1)) if len(tr) > 1 else 0.0
        cells = [pm(x, "kept_pct"), pm(x, "learned_pct"), pm(x, "last"), pm(x, "bwt"), pm(x, "forgetting"),
                 f"{c['train_samples']:,.0f}", f"{c['forward_passes']:,.0f}", f"{c['frozen_forward_passes']:,.0f}",
                 f"{mean:.0f} ± {sd:.0f}"]
        print(f"| {n} | " + " | ".join(cells) + " |")


def shape_svg(marker, x, y, c, title):
    """A circle, a square or a triangle of colour c at (x, y)."""
    if marker == 0:
        body = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{c}">'
        end = "</circle>"
    elif marker == 1:
        body = f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="{c}">'
        end = "</rect>"
    else:
        body = f'<polygon points="{x:.1f},{y - 6:.1f} {x - 6:.1f},{y + 5:.1f} {x + 6:.1f},{y + 5:.1f}" fill="{c}">'
        end = "</polygon>"
    return body + f"<title>{title}</title>" + end


COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
          "#bcbd22"]


def svg(names, out, keep, learn, path):
    pts = [(n, out[n]) for n in names if out[n].get("kept_pct") is not None and out[n].get("learned_pct") is not None]
    W, H, L, R, T, B = 1000, 620, 70, 350, 40, 60
    xs = [x["learned_pct"] for _, x in pts] + [learn]
    ys = [x["kept_pct"] for _, x in pts] + [keep]
    x0, x1 = 10 * math.floor(min(xs) / 10 - 0.5), 10 * math.ceil(max(xs) / 10 + 0.5)
    y0, y1 = 10 * math.floor(min(ys) / 10 - 0.5), 10 * math.ceil(max(ys) / 10 + 0.5)
    X = lambda v: L + (v - x0) / (x1 - x0) * (W - L - R)
    Y = lambda v: H - B - (v - y0) / (y1 - y0) * (H - T - B)
    e = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{L}" y="22" font-size="15">Keeping vs learning (mean ± sd over the seeds)</text>']
    for v in range(int(x0), int(x1) + 1, 10):
        e.append(f'<line x1="{X(v):.1f}" y1="{T}" x2="{X(v):.1f}" y2="{H - B}" stroke="#eee"/>')
        e.append(f'<text x="{X(v):.1f}" y="{H - B + 16}" text-anchor="middle">{v}</text>')
    for v in range(int(y0), int(y1) + 1, 10):
        e.append(f'<line x1="{L}" y1="{Y(v):.1f}" x2="{W - R}" y2="{Y(v):.1f}" stroke="#eee"/>')
        e.append(f'<text x="{L - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{v}</text>')
    e.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#444"/>')
    e.append(f'<line x1="{X(learn):.1f}" y1="{T}" x2="{X(learn):.1f}" y2="{H - B}" stroke="#444" stroke-dasharray="5,4"/>')
    e.append(f'<line x1="{L}" y1="{Y(keep):.1f}" x2="{W - R}" y2="{Y(keep):.1f}" stroke="#444" stroke-dasharray="5,4"/>')
    e.append(f'<text x="{X(learn) + 4:.1f}" y="{T + 14}">learned {learn:g} %</text>')
    e.append(f'<text x="{W - R - 4}" y="{Y(keep) - 5:.1f}" text-anchor="end">kept {keep:g} %</text>')
    e.append(f'<text x="{(L + W - R) / 2:.0f}" y="{H - 18}" text-anchor="middle">learned % (each new vendor\'s R@1 '
             'right after its phase, in % of finetune\'s)</text>')
    e.append(f'<text transform="translate(18,{(T + H - B) / 2:.0f}) rotate(-90)" text-anchor="middle">kept % '
             '(Apple R@1 after the last phase, in % of joint\'s)</text>')
    for i, (n, x) in enumerate(pts):
        c, cx, cy = COLORS[i % len(COLORS)], X(x["learned_pct"]), Y(x["kept_pct"])
        sx, sy = x["sd"].get("learned_pct") or 0.0, x["sd"].get("kept_pct") or 0.0
        e.append(f'<line x1="{X(x["learned_pct"] - sx):.1f}" y1="{cy:.1f}" x2="{X(x["learned_pct"] + sx):.1f}" '
                 f'y2="{cy:.1f}" stroke="{c}"/>')
        e.append(f'<line x1="{cx:.1f}" y1="{Y(x["kept_pct"] - sy):.1f}" x2="{cx:.1f}" y2="{Y(x["kept_pct"] + sy):.1f}" '
                 f'stroke="{c}"/>')
        marker = (i // len(COLORS)) % 3
        e.append(shape_svg(marker, cx, cy, c, n))
        ly = T + 8 + 18 * i
        shape = shape_svg(marker, W - R + 20, ly, c, n)
        twin = [m for m, y in pts[:i] if (y["kept_pct"], y["learned_pct"]) == (x["kept_pct"], x["learned_pct"])]
        label = f"{n} (the same point as {twin[0]})" if twin else n
        e.append(shape + f'<text x="{W - R + 32}" y="{ly + 4}">{label}</text>')
    e.append("</svg>")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(e) + "\n")
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("runs", nargs="+")
    p.add_argument("--svg")
    p.add_argument("--keep", type=float, default=80.0)
    p.add_argument("--learn", type=float, default=90.0)
    o = p.parse_args()
    names, out, seeds = merge(o.runs)
    names = grouped(names)
    table(names, out)
    if o.svg:
        svg(names, out, o.keep, o.learn, o.svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
