"""Reference re-implementation of OpenAI CLIP's SimpleTokenizer (byte-level BPE).

Written from the published algorithm to produce golden ids for the C tokenizer
(src/tok/). Run with /usr/bin/python3 (needs the `regex` module).

Text clean-up, in order (what OpenAI's basic_clean + whitespace_clean do):
  1. the subset of ftfy.fix_text that changes ordinary text, repeated until the
     text stops changing (as ftfy does):
       remove_terminal_escapes  ESC [ digits/; letter  -> removed
       fix_c1_controls          U+0080..U+009F -> their Windows-1252 meaning
       fix_latin_ligatures      ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ Ĳ ĳ ŉ Ǆ..ǌ Ǳ..ǳ split
       fix_character_width      U+3000 and U+FF01..U+FFEF -> NFKC
       uncurl_quotes            U+02BC U+2018..U+201B -> ', U+201C..U+201F -> "
       remove_control_chars     C0 controls except \t \n \f \r, DEL, U+206A..206F,
                                U+FEFF, U+FFF9..FFFC removed
       NFC normalisation
     (in ftfy's order: C1 fix, ligatures, width, quotes, terminal escapes,
     control characters, NFC). Not reproduced: ftfy's mojibake repair
     (fix_encoding) and its own HTML-entity pass; see src/tok/README.md.
  2. html.unescape twice, str.strip()
  3. regex \\s+ -> ' ', str.strip()
  4. str.lower()
"""
import gzip
import html
import unicodedata

import regex

PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)

LIGATURES = {
    0x0132: "IJ", 0x0133: "ij", 0x0149: "\u02bcn",
    0x01F1: "DZ", 0x01F2: "Dz", 0x01F3: "dz",
    0x01C4: "D\u017d", 0x01C5: "D\u017e", 0x01C6: "d\u017e",
    0x01C7: "LJ", 0x01C8: "Lj", 0x01C9: "lj",
    0x01CA: "NJ", 0x01CB: "Nj", 0x01CC: "nj",
    0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl",
    0xFB05: "\u017ft", 0xFB06: "st",
}


def _width_map():
    m = {0x3000: " "}
    for cp in range(0xFF01, 0xFFF0):
        alt = unicodedata.normalize("NFKC", chr(cp))
        if alt != chr(cp):
            m[cp] = alt
    return m


WIDTH_MAP = _width_map()
C1_MAP = {cp: bytes([cp]).decode("cp1252", errors="ignore") or chr(cp) for cp in range(0x80, 0xA0)}
CONTROL_CHARS = dict.fromkeys(
    list(range(0x00, 0x09)) + [0x0B] + list(range(0x0E, 0x20)) + [0x7F]
    + list(range(0x206A, 0x2070)) + [0xFEFF] + list(range(0xFFF9, 0xFFFD)))
TERMINAL_ESCAPE = regex.compile(r"\033\[((?:\d|;)*)([a-zA-Z])", regex.VERSION0)
SINGLE_QUOTE = regex.compile("[\u02bc\u2018-\u201b]")
DOUBLE_QUOTE = regex.compile("[\u201c-\u201f]")


def ftfy_subset(text):
    while True:
        orig = text
        text = text.translate(C1_MAP)
        text = text.translate(LIGATURES)
        text = text.translate(WIDTH_MAP)
        text = SINGLE_QUOTE.sub("'", DOUBLE_QUOTE.sub('"', text))
        text = TERMINAL_ESCAPE.sub("", text)
        text = text.translate(CONTROL_CHARS)
        text = unicodedata.normalize("NFC", text)
        if text == orig:
            return text


def basic_clean(text):
    text = ftfy_subset(text)
    text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text):
    text = regex.sub(r"\s+", " ", text)
    return text.strip()


def clean(text):
    return whitespace_clean(basic_clean(text)).lower()


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    return set(zip(word[:-1], word[1:]))


class Tokenizer:
    def __init__(self, path):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            lines = f.read().decode("utf-8").split("\n")
        merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
        merges = [m for m in merges if m]  # a trailing empty line is not a merge
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + "</w>" for v in vocab]
        vocab += ["".join(m) for m in merges]
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.decoder = {v: k for k, v in self.encoder.items()}
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.sot = self.encoder["<|startoftext|>"]
        self.eot = self.encoder["<|endoftext|>"]
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda p: self.bpe_ranks.get(p, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        out = " ".join(word)
        self.cache[token] = out
        return out

    def tokenize(self, text):
        ids = []
        for token in PATTERN.findall(clean(text)):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids

    def encode(self, text, context=77):
        ids = [self.sot] + self.tokenize(text) + [self.eot]
        if len(ids) > context:
            ids = ids[:context]
            ids[-1] = self.eot
        return ids

    def decode(self, ids):
        # As OpenAI's decode, except: SOT is skipped, EOT ends the text (what
        # follows is padding).
        kept = []
        for i in ids:
            if i == self.eot:
                break
            if i != self.sot:
                kept.append(i)
        text = "".join(self.decoder[i] for i in kept)
        text = bytearray(self.byte_decoder[c] for c in text).decode("utf-8", errors="replace")
        return text.replace("</w>", " ")
