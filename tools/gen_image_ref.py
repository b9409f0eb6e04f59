#!/usr/bin/python3
"""Generates the image-preprocessing fixtures in tests/fixtures/images/.

Each case is a small image written in some format/mode (mostly with Pillow; a
few PNG variants Pillow cannot write are encoded by hand below). For each case,
size S in (16, 24) and background, the reference is Pillow 9.4 doing what
OpenCLIP's preprocessing does:

    rgb  = alpha_composite(solid background, im.convert("RGBA")).convert("RGB")
    rgb  = rgb.resize(torchvision Resize(S) size, Image.BICUBIC)
    crop = torchvision CenterCrop(S)

16-bit grey PNGs are first reduced to their high byte (modx's documented rule;
Pillow's own I -> RGB conversion would clip them to white). Results are saved
as raw H x W x 3 uint8 files `<case>_s<S>[_bg].rgb`; `manifest.txt` lists them.
`<case>_decoded.ppm` is the decoded image composited on white, before resizing.
`<case>_s16.f32` holds the normalised CHW float32 tensor for one case, computed
as torchvision's ToTensor + Normalize would (float32 arithmetic).

Run:  /usr/bin/python3 tools/gen_image_ref.py
"""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "images")
SIZES = (16, 24)
WHITE = (255, 255, 255)
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
rng = np.random.default_rng(20240607)


def content(w, h, channels):
    """Smooth gradients + an edge + noise, uint8 (h, w, channels)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((h, w, channels), np.float64)
    for c in range(channels):
        fx, fy = rng.uniform(0.05, 0.6, 2)
        out[..., c] = 127 + 90 * np.sin(fx * x + c) * np.cos(fy * y - c)
        out[..., c] += np.where(x + 0.7 * y > (w + h) / 2, 40, -40)
    out += rng.normal(0, 18, out.shape)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def alpha_plane(w, h):
    """Alpha with fully transparent, opaque and partial regions."""
    a = content(w, h, 1)[..., 0].astype(np.int32)
    a[: h // 4, :] = 0
    a[-(h // 4):, :] = 255
    a[:, : max(1, w // 6)] = rng.integers(0, 256, (h, max(1, w // 6)))
    return a.astype(np.uint8)


# --- hand-written PNG encoder (for variants Pillow will not write) -----------
def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_encode(w, h, depth, ctype, rows, plte=None, trns=None):
    """rows: list of raw scanline bytes (without filter byte)."""
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
    if plte is not None:
        out += png_chunk(b"PLTE", plte)
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    return out + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


def pack_bits(vals, depth):
    """Packs a row of small ints MSB-first at `depth` bits each."""
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(vals), per):
        byte = 0
        chunk = list(vals[i:i + per]) + [0] * (per - len(vals[i:i + per]))
        for v in chunk:
            byte = (byte << depth) | int(v)
        out.append(byte)
    return bytes(out)


# --- cases ------------------------------------------------------------------
def save_pil(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def make_cases():
    cases = []  # (name, ext, bytes)
    rgb = lambda w, h: Image.fromarray(content(w, h, 3), "RGB")
    cases.append(("jpeg_rgb_wide", "jpg", save_pil(rgb(64, 40), "JPEG", quality=90)))
    cases.append(("jpeg_large", "jpg", save_pil(rgb(200, 150), "JPEG", quality=75)))
    cases.append(("jpeg_rgb_tall444", "jpg", save_pil(rgb(30, 71), "JPEG", quality=95, subsampling=0)))
    cases.append(("jpeg_progressive", "jpg", save_pil(rgb(41, 33), "JPEG", quality=85, progressive=True)))
    cases.append(("jpeg_grey", "jpg", save_pil(Image.fromarray(content(45, 45, 1)[..., 0], "L"), "JPEG", quality=90)))
    cases.append(("jpeg_cmyk", "jpg", save_pil(Image.fromarray(content(33, 29, 4), "CMYK"), "JPEG", quality=90)))
    cases.append(("png_rgb_tiny", "png", save_pil(rgb(3, 5), "PNG")))
    cases.append(("png_rgb_square", "png", save_pil(rgb(24, 24), "PNG")))
    cases.append(("png_rgb_upscale", "png", save_pil(rgb(9, 12), "PNG")))
    cases.append(("png_rgb_odd", "png", save_pil(rgb(101, 37), "PNG")))
    rgba = np.concatenate([content(37, 52, 3), alpha_plane(37, 52)[..., None]], axis=2)
    cases.append(("png_rgba", "png", save_pil(Image.fromarray(rgba, "RGBA"), "PNG")))
    la = np.stack([content(20, 13, 1)[..., 0], alpha_plane(20, 13)], axis=2)
    cases.append(("png_la", "png", save_pil(Image.fromarray(la, "LA"), "PNG")))
    cases.append(("png_l", "png", save_pil(Image.fromarray(content(50, 19, 1)[..., 0], "L"), "PNG")))
    # palette with per-entry alpha (tRNS)
    pal_idx = (content(28, 41, 1)[..., 0] // 16).astype(np.uint8)
    pim = Image.fromarray(pal_idx, "P")
    palette = rng.integers(0, 256, 16 * 3).astype(np.uint8)
    pim.putpalette(palette.tolist())
    alphas = bytes([0, 64, 128, 200, 255, 30] + [255] * 10)
    cases.append(("png_p_trns", "png", save_pil(pim, "PNG", transparency=alphas)))
    i16 = (content(26, 33, 1)[..., 0].astype(np.uint16) * 257 + rng.integers(0, 257, (33, 26))).astype(np.uint16)
    cases.append(("png_i16", "png", save_pil(Image.fromarray(i16, "I;16"), "PNG")))
    # hand-encoded variants
    w, h = 18, 22
    v16 = (np.concatenate([content(w, h, 3), alpha_plane(w, h)[..., None]], axis=2).astype(np.uint16) * 257
           + rng.integers(0, 257, (h, w, 4))).astype(">u2")
    cases.append(("png_rgba16", "png", png_encode(w, h, 16, 6, [v16[y].tobytes() for y in range(h)])))
    w, h = 17, 9
    bits = content(w, h, 1)[..., 0] > 127
    cases.append(("png_grey1", "png", png_encode(w, h, 1, 0, [pack_bits(bits[y], 1) for y in range(h)])))
    w, h = 15, 15
    crgb = content(w, h, 3)
    crgb[3:9, 4:11] = (10, 200, 30)  # colour-keyed transparent block
    cases.append(("png_rgb_trns", "png",
                  png_encode(w, h, 8, 2, [crgb[y].tobytes() for y in range(h)], trns=struct.pack(">HHH", 10, 200, 30))))
    w, h = 13, 21
    idx4 = content(w, h, 1)[..., 0] // 16
    plte = rng.integers(0, 256, 16 * 3).astype(np.uint8).tobytes()
    cases.append(("png_p4_trns", "png", png_encode(w, h, 4, 3, [pack_bits(idx4[y], 4) for y in range(h)], plte=plte,
                                                   trns=bytes([0, 90, 180, 255, 17]))))
    return cases


# --- reference pipeline -------------------------------------------------------
def to_rgb(data, bg):
    im = Image.open(io.BytesIO(data))
    im.load()
    if im.mode in ("I", "I;16", "I;16B"):
        im = Image.fromarray((np.array(im).astype(np.uint32) >> 8).astype(np.uint8), "L")
    base = Image.new("RGBA", im.size, tuple(bg) + (255,))
    return Image.alpha_composite(base, im.convert("RGBA")).convert("RGB")


def resize_crop(im, size):
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)  # torchvision _compute_resized_output_size
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    im = im.resize((nw, nh), Image.BICUBIC)
    top = int(round((nh - size) / 2.0))  # torchvision center_crop
    left = int(round((nw - size) / 2.0))
    return np.array(im.crop((left, top, left + size, top + size)))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    lines = ["# file size bg_r bg_g bg_b reference (H x W x 3 uint8, Pillow 9.4; see tools/gen_image_ref.py)"]
    for name, ext, data in make_cases():
        fname = f"{name}.{ext}"
        with open(os.path.join(OUT, fname), "wb") as f:
            f.write(data)
        # the decoded (composited on white) image before resizing, to check decoding alone
        if name != "jpeg_large":  # keep the fixtures small
            to_rgb(data, WHITE).save(os.path.join(OUT, f"{name}_decoded.ppm"))
        bgs = [WHITE] + ([(30, 120, 200)] if name in ("png_rgba", "png_p_trns") else [])
        for bg in bgs:
            rgb = to_rgb(data, bg)
            for s in SIZES:
                ref = f"{name}_s{s}" + ("" if bg == WHITE else "_bg") + ".rgb"
                arr = resize_crop(rgb, s)
                assert arr.shape == (s, s, 3), arr.shape
                arr.astype(np.uint8).tofile(os.path.join(OUT, ref))
                lines.append(f"{fname} {s} {bg[0]} {bg[1]} {bg[2]} {ref}")
    # normalisation reference for one case, float32 as ToTensor + Normalize
    crop = np.fromfile(os.path.join(OUT, "png_rgba_s16.rgb"), np.uint8).reshape(16, 16, 3)
    t = crop.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    t = (t - MEAN[:, None, None]) / STD[:, None, None]
    t.astype("<f4").tofile(os.path.join(OUT, "png_rgba_s16.f32"))
    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, x)) for x in os.listdir(OUT))
    print(f"wrote {len(lines) - 1} references, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
