#!/usr/bin/python3
"""Writes the small dataset fixtures under tests/fixtures/data/ (run with /usr/bin/python3).

Images: six tiny PNGs of different sizes and modes (RGB, RGBA, grey). Annotation
files: one good file per format (manifest JSONL, Karpathy COCO and Flickr30K
splits, COCO captions) over the same images, and a few bad files for the CLI
tests. Deterministic: re-running writes identical bytes."""
import json
import os

from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "data")

IMAGES = [  # name, size, mode, colour
    ("red.png", (8, 6), "RGB", (220, 30, 30)),
    ("green.png", (6, 8), "RGB", (30, 200, 40)),
    ("blue.png", (7, 7), "RGB", (20, 40, 210)),
    ("half.png", (8, 8), "RGBA", (250, 200, 0, 128)),
    ("grey.png", (5, 9), "L", 128),
    ("stripes.png", (10, 6), "RGB", None),
]

CAPTIONS = {
    "red.png": ["a red square", "a small red picture"],
    "green.png": ["a green rectangle", "green", "something green and tall"],
    "blue.png": ["a blue square"],
    "half.png": ["a half transparent yellow square", "yellow see-through tile"],
    "grey.png": ["a grey tile", "caf\u00e9 au lait grey \u2615"],
    "stripes.png": ["vertical stripes", "black and white stripes"],
}


def write(name, text):
    with open(os.path.join(ROOT, name), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    os.makedirs(os.path.join(ROOT, "images", "train2014"), exist_ok=True)
    for name, size, mode, colour in IMAGES:
        if colour is None:
            img = Image.new("RGB", size)
            for x in range(size[0]):
                for y in range(size[1]):
                    img.putpixel((x, y), (0, 0, 0) if x % 2 else (255, 255, 255))
        else:
            img = Image.new(mode, size, colour)
        for sub in ("images", os.path.join("images", "train2014")):
            img.save(os.path.join(ROOT, sub, name), optimize=False)
    names = [n for n, *_ in IMAGES]
    splits = ["train", "train", "val", "test", "restval", "train"]
    domains = ["red", "green", "blue", "red", "green", "blue"]

    # manifest: one image per line, paths relative to the manifest
    lines = [json.dumps({"image": "images/" + n, "captions": CAPTIONS[n], "domain": d, "split": s},
                        ensure_ascii=False) for n, s, d in zip(names, splits, domains)]
    write("manifest.jsonl", "\n".join(lines) + "\n\n")
    # a manifest with bad lines among good ones (for --skip-bad)
    bad = [lines[0],
           '{"image": "images/green.png", "captions": ["ok caption", ""]}',
           '{"image": "images/blue.png", "captions": [}',
           '{"image": 5, "captions": ["x"]}',
           '{"image": "images/grey.png", "captions": []}',
           lines[5]]
    write("manifest_bad.jsonl", "\n".join(bad) + "\n")

    # Karpathy split files
    def karpathy(dataset, with_path):
        imgs = []
        for i, (n, s) in enumerate(zip(names, splits)):
            e = {"filename": n, "imgid": i, "split": s,
                 "sentences": [{"raw": c, "tokens": c.split(), "imgid": i, "sentid": 10 * i + k}
                               for k, c in enumerate(CAPTIONS[n])]}
            if with_path:
                e = {"filepath": "train2014", **e, "cocoid": 1000 + i}
            imgs.append(e)
        return json.dumps({"images": imgs, "dataset": dataset}, ensure_ascii=False, indent=1) + "\n"

    write("dataset_coco.json", karpathy("coco", True))
    write("dataset_flickr30k.json", karpathy("flickr30k", False))

    # COCO captions: annotations deliberately out of image order
    cimgs = [{"id": 500 + 7 * i, "file_name": n, "width": 8, "height": 8} for i, n in enumerate(names)]
    anns = []
    aid = 1
    for k in range(3):
        for i, n in reversed(list(enumerate(names))):
            if k < len(CAPTIONS[n]):
                anns.append({"image_id": 500 + 7 * i, "id": aid, "caption": CAPTIONS[n][k]})
                aid += 1
    write("captions_val.json", json.dumps({"info": {}, "images": cimgs, "annotations": anns},
                                          ensure_ascii=False, indent=1) + "\n")
    bad_coco = {"images": cimgs[:2] + [{"id": "x", "file_name": "blue.png"}],
                "annotations": [a for a in anns if a["image_id"] == 500][:1] + anns[:2]
                + [{"image_id": 999, "caption": "orphan"}]}
    write("captions_bad.json", json.dumps(bad_coco, indent=1) + "\n")
    write("malformed.json", '{"images": [ {"filename": "a.png", }\n]}\n')


if __name__ == "__main__":
    main()
