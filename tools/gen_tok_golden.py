"""Writes tests/fixtures/tok_golden.jsonl: {"text": ..., "ids": [...], "decoded": ...}
per line: the CLIP token ids (context 77, SOT/EOT, no padding) and their
decoding, from tools/clip_tokenizer.py.

  /usr/bin/python3 tools/gen_tok_golden.py

Before writing, checks the reference against CLIP ids published with OpenAI's
and Hugging Face's CLIP examples; stops if any differs.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_tokenizer  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# Published ids (CLIP model card / transformers CLIPTokenizer doc examples).
KNOWN = {
    "a photo of a cat": [49406, 320, 1125, 539, 320, 2368, 49407],
    "a photo of a dog": [49406, 320, 1125, 539, 320, 1929, 49407],
    "hello world": [49406, 3306, 1002, 49407],
    "a diagram": [49406, 320, 22697, 49407],
}

TEXTS = [
    # ASCII, punctuation, contractions, digits
    "a photo of a cat",
    "a photo of a dog",
    "hello world",
    "A Diagram",
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!!! What's up? (nothing...) [ok] {x} <tag> a/b a-b a_b",
    "it's we'll I'M they're you've I'd we'LL DON'T can't o'clock",
    "''s 's 'S '' ' rock'n'roll",
    "In 2023, 1,234,567 people paid $19.99 (3.5%) at 10:45pm on 12/31",
    "ⅻ ½ ² ٣ ๓ 𝟙 ①",
    "~`!@#$%^&*()_+-={}|[]\\:\";'<>?,./",
    # accents, NFC
    "café naïve résumé Ångström",
    "cafe\u0301 nai\u0308ve",
    "e\u0301\u0301 a\u0300\u0323",
    "Straße ß ẞ",
    # scripts
    "東京タワーの夜景",
    "中文字符测试，标点符号。",
    "한국어 텍스트 한글",
    "ﾊﾝｶｸｶﾀｶﾅ ｶﾞｷﾞ",
    "Привет, мир! Съешь же ещё этих мягких французских булок",
    "Ελληνικά: ΟΔΥΣΣΕΥΣ, Σ ΣΑΣ ΑΣ. ὈΔΥΣΣΕΎΣ",
    "مرحبا بالعالم ١٢٣",
    "नमस्ते दुनिया १२३",
    "İstanbul DİYARBAKIR ǅemal",
    "ᾳ ᾼ \u0345 a\u0345b",
    # emoji
    "I love 🐈 and 🐕!",
    "👍🏽 👩‍👩‍👧‍👦 🏳️‍🌈 🇫🇷 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    "❤️ ✨ ☕ 1️⃣",
    # HTML entities
    "Tom &amp; Jerry &lt;3 &gt; &quot;hi&quot; it&#39;s &#x27;x&#x27;",
    "caf&eacute; &Eacute;cole &nbsp;spaced&nbsp; &copy; &euro;",
    "double &amp;amp; &amp;lt;b&amp;gt; triple &amp;amp;amp;",
    "legacy &ampfoo &notit; &notin; &copy2023 &#0; &#128; &#x110000; &#55296; &#1; &",
    "&#65;&#x42;&#X43; &#xZ; &#; &;",
    # curly quotes, ligatures, full width, control characters
    "\u201cSmart quotes\u201d and \u2018single\u2019 \u201aLow\u201b \u201eDE\u201f don\u2019t",
    "ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ Ĳssel ŉ Ǆ ǈ",
    "ＦＵＬＬ　ｗｉｄｔｈ　１２３！ ｈｅｌｌｏ",
    "\x01ctrl\x07chars\x7f\ufeffbom \u200bzero\u200dwidth \x1b[31mred\x1b[0m",
    "\x80 \x93quoted\x94 \x85",
    # whitespace
    "   leading and trailing   ",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u3000ideographic\u2028sep",
    "",
    " ",
    "\t\n",
    # mixed case, specials written out
    "MiXeD CaSe TeXt With CAPS",
    "<|startoftext|>hello<|endoftext|> <|ENDOFTEXT|> <|ſtartoftext|>",
    # very long text (truncated at 77)
    "a very long caption " * 30,
    " ".join(str(i) for i in range(100)),
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
]


def random_texts(n, seed):
    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ      ",
        "0123456789.,;:!?'\"()-&#;<>|",
        "éèêëàâäôöûüçñßœæøåÉÈ",
        "абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГДΣσςΑΒΓ",
        "日本語中文漢字かなカナ한국어",
        "🐈🐕👍🏽‍❤️✨",
        "\u0301\u0308\u0345\u00a0\u3000\u2019\u201cﬁＡ１",
    ]
    out = []
    for _ in range(n):
        k = rng.randint(1, 60)
        s = "".join(rng.choice(rng.choice(pools)) for _ in range(k))
        out.append(s)
    return out


def main():
    tok = clip_tokenizer.Tokenizer(os.path.join(ROOT, "data/bpe_simple_vocab_16e6.txt.gz"))
    for text, want in KNOWN.items():
        got = tok.encode(text)
        if got != want:
            sys.exit("reference tokenizer disagrees with published ids for %r: %r != %r" % (text, got, want))
    texts = TEXTS + random_texts(150, 1234)
    path = os.path.join(ROOT, "tests/fixtures/tok_golden.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            ids = tok.encode(t, 77)
            row = {"text": t, "ids": ids, "decoded": tok.decode(ids)}
            f.write(json.dumps(row, ensure_ascii=True) + "\n")
    # the same as plain lines for the CLI test (texts without a line break)
    lines = [t for t in texts if "\n" not in t and "\r" not in t and "\x85" not in t
             and "\u2028" not in t and "\x0b" not in t and "\x0c" not in t]
    with open(os.path.join(ROOT, "tests/fixtures/tok_golden_lines.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(t + "\n" for t in lines))
    with open(os.path.join(ROOT, "tests/fixtures/tok_golden_lines.ids"), "w") as f:
        f.write("".join(" ".join(map(str, tok.encode(t, 77))) + "\n" for t in lines))
    print("wrote %d cases to %s (%d as lines)" % (len(texts), path, len(lines)))


if __name__ == "__main__":
    main()
