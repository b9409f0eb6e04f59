#!/usr/bin/env python3
"""Writes webdataset shards and CSV files holding the same images and captions
as a manifest (default tests/fixtures/data/manifest.jsonl), plus corrupt shards
and CSV files for the error tests. Standard library only (tarfile, csv, json).

    python3 tools/make_wds_csv_fixtures.py OUT_DIR [MANIFEST]

OUT_DIR/wds/part-{0,1}.tar   the manifest's images in two shards; a sample with one
                             caption stores it in a .txt, the others a .json caption list
OUT_DIR/data.tsv             OpenCLIP-style TSV (filepath, title, domain, split), one row
                             per caption, rows of different images interleaved
OUT_DIR/data_quoted.csv      the same, comma-separated, every field quoted (RFC 4180)
OUT_DIR/bad/*.tar, *.csv     one problem each (see BAD_SHARDS / BAD_CSV below)
Image paths in the CSV files are relative to the manifest's folder (pass it as --images).
"""
import csv
import io
import json
import os
import sys
import tarfile


def add(tar, name, data, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write_tar(path, members):
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for m in members:
            add(tar, *m)


def main():
    out = sys.argv[1]
    manifest = sys.argv[2] if len(sys.argv) > 2 else "tests/fixtures/data/manifest.jsonl"
    root = os.path.dirname(manifest)
    items = [json.loads(line) for line in open(manifest, encoding="utf-8") if line.strip()]
    os.makedirs(os.path.join(out, "wds"), exist_ok=True)
    os.makedirs(os.path.join(out, "bad"), exist_ok=True)
    half = (len(items) + 1) // 2
    for shard, part in enumerate([items[:half], items[half:]]):
        members = []
        for k, it in enumerate(part):
            key = "sample%04d" % (shard * 1000 + k)
            img = open(os.path.join(root, it["image"]), "rb").read()
            meta = {"domain": it["domain"], "split": it["split"]}
            members.append((key + ".png", img))
            if len(it["captions"]) == 1:
                members.append((key + ".txt", (it["captions"][0] + "\n").encode()))
            else:
                meta["caption"] = it["captions"]
            members.append((key + ".json", json.dumps(meta).encode()))
            members.append((key + ".cls", b"7"))  # another field: ignored
        write_tar(os.path.join(out, "wds", "part-%d.tar" % shard), members)
    # CSV: one row per caption; the rows of images i and i+1 interleaved
    rows = []
    for i in range(0, len(items), 2):
        pair = items[i:i + 2]
        for k in range(max(len(p["captions"]) for p in pair)):
            for it in pair:
                if k < len(it["captions"]):
                    rows.append([it["image"], it["captions"][k], it["domain"], it["split"]])
    header = ["filepath", "title", "domain", "split"]
    with open(os.path.join(out, "data.tsv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    with open(os.path.join(out, "data_quoted.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=",", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
    png = open(os.path.join(root, items[0]["image"]), "rb").read()
    cap = b'{"caption": "a picture"}'
    bad = {
        "no_caption": [("a.png", png)],
        "no_image": [("a.json", cap)],
        "undecodable": [("a.png", b"\x89PNG\r\n\x1a\nthis is not a png"), ("a.json", cap)],
        "dotdot": [("../x.png", png), ("../x.json", cap)],
        "absolute": [("/abs/x.png", png), ("/abs/x.json", cap)],
        "symlink": [("a.png", b"", tarfile.SYMTYPE, "/etc/passwd"), ("a.json", cap)],
        "hardlink": [("a.png", png), ("a.json", cap), ("b.png", b"", tarfile.LNKTYPE, "a.png"), ("b.json", cap)],
        "device": [("a.png", b"", tarfile.CHRTYPE), ("a.json", cap)],
        "big_caption": [("a.png", png), ("a.txt", b"x" * ((1 << 20) + 1))],
        "two_images": [("a.png", png), ("a.jpg", png), ("a.json", cap)],
    }
    for name, members in bad.items():
        write_tar(os.path.join(out, "bad", name + ".tar"), [m if len(m) > 2 else (m[0], m[1]) for m in members])
    # a good sample, then a member cut short by the end of the file
    path = os.path.join(out, "bad", "truncated.tar")
    write_tar(path, [("a.png", png), ("a.json", cap), ("b.png", png * 8), ("b.json", cap)])
    data = open(path, "rb").read()
    cut = data.index(png * 8) + len(png) * 4
    open(path, "wb").write(data[:cut])
    bad_csv = {
        "fields": "filepath\ttitle\nimages/red.png\ta red square\textra\n",
        "unterminated": 'filepath,title\nimages/red.png,"a red square\n',
        "no_column": "path\ttitle\nimages/red.png\ta red square\n",
        "empty_path": "filepath\ttitle\n\ta red square\n",
    }
    for name, text in bad_csv.items():
        open(os.path.join(out, "bad", name + ".csv"), "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
