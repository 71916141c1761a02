#!/usr/bin/env python3
"""Writes Tests/Fixtures/prompts/: AUTOMATIC1111 prompt-syntax references for the Swift tests.

A reference implementation, written for this project, of the rules AUTOMATIC1111's web UI applies to
a prompt before the UNet sees it ("Original" emphasis, the default), run with transformers' CLIP on
the tiny text encoders of Tests/Fixtures/sd/sd1 and sd2 (tools/make_sd_fixtures.py):

  modules/prompt_parser.py    parse_prompt_attention: (x) x1.1, [x] /1.1, (x:w), nesting, escapes,
                              unbalanced brackets, BREAK, equal neighbours merged
  modules/extra_networks.py   <kind:args> tags removed from the (positive) prompt
  modules/sd_hijack_clip.py   tokenize_line: fragments tokenized alone, 75-token chunks, BREAK,
                              comma back-off (comma_padding_backtrack = 20), EOS padding, BOS/EOS
                              per chunk; SD2: ids after the first EOS -> id_pad 0 (process_tokens)
  modules/textual_inversion   embeddings found by their name's token ids (longest first), their
                              vectors put in place of the token embeddings at their offsets
  modules/sd_emphasis.py      EmphasisOriginal: z *= multipliers, then z *= mean_before / mean_after,
                              per chunk; chunks concatenated along the tokens
  sd_samplers_cfg_denoiser    pad_cond_uncond: the shorter of cond / uncond padded with the empty
                              prompt's conditioning, 77 tokens at a time

Writes:
  prompts/cases.json              per case: model, prompt, negative prompt, embeddings, the chunk ids
                                  and multipliers of both prompts, token counts, tags
  prompts/conditioning.safetensors  <case>.cond / <case>.uncond  [1, 77k, 32] float32 (padded
                                  to one length); <case>.cond_states / .uncond_states [k, 77, 32],
                                  the text model's states per chunk; <case>.cond_emphasis_exact /
                                  .uncond_emphasis_exact [1, 77k, 32], the emphasis of those states
                                  computed in float64
  prompts/embeddings/             mystyle.safetensors (A1111/kohya emb_params, 2 vectors),
                                  learned_embeds.safetensors (diffusers, key "<cat-toy>", 1 vector),
                                  wide.safetensors (width 48: the wrong width), two.safetensors
                                  (two tensors: not an embedding file)
  prompts/long_prompt.png         diffusers' StableDiffusionPipeline (sd1 fixture, its PNDM scheduler)
                                  given the long case's cond/uncond as prompt_embeds /
                                  negative_prompt_embeds

Run:  /tmp/torch-venv/bin/python tools/make_prompt_fixtures.py   (a few seconds; deterministic)
"""

import json
import os
import re

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import CLIPTextModel, CLIPTokenizer

torch.set_num_threads(1)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SD = os.path.join(REPO, "Tests", "Fixtures", "sd")
OUT = os.path.join(REPO, "Tests", "Fixtures", "prompts")

# ------------------------------------------------------------------------------------------------
# prompt_parser.parse_prompt_attention rules

ATTENTION = re.compile(r"""
\\\(|\\\)|\\\[|\\]|\\\\|\\|
\(|\[|
:([+-]?[.\d]+)\)|
\)|]|
[^\\()\[\]:]+|
:
""", re.X)
BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)


def parse(text):
    out, round_open, square_open = [], [], []

    def scale(start, factor):
        for p in range(start, len(out)):
            out[p][1] *= factor

    for m in ATTENTION.finditer(text):
        piece, weight = m.group(0), m.group(1)
        if piece.startswith("\\"):
            out.append([piece[1:], 1.0])
        elif piece == "(":
            round_open.append(len(out))
        elif piece == "[":
            square_open.append(len(out))
        elif weight is not None and round_open:
            scale(round_open.pop(), float(weight))
        elif piece == ")" and round_open:
            scale(round_open.pop(), 1.1)
        elif piece == "]" and square_open:
            scale(square_open.pop(), 1 / 1.1)
        else:
            for i, part in enumerate(BREAK.split(piece)):
                if i > 0:
                    out.append(["BREAK", -1])
                out.append([part, 1.0])
    for p in round_open:
        scale(p, 1.1)
    for p in square_open:
        scale(p, 1 / 1.1)
    if not out:
        out = [["", 1.0]]
    i = 0
    while i + 1 < len(out):
        if out[i][1] == out[i + 1][1]:
            out[i][0] += out[i + 1][0]
            out.pop(i + 1)
        else:
            i += 1
    return out


EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")


def strip_tags(prompt):
    tags = []

    def found(m):
        tags.append([m.group(1)] + m.group(2).split(":"))
        return ""
    return EXTRA_NETWORK.sub(found, prompt), tags


# ------------------------------------------------------------------------------------------------
# sd_hijack_clip / textual inversion / sd_emphasis rules

class Encoder:
    CHUNK = 75
    BACKTRACK = 20

    def __init__(self, folder, dtype=torch.float32):
        self.dtype = dtype
        self.tok = CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer"))
        self.model = CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder")).to(dtype).eval()
        self.start, self.end = self.tok.bos_token_id, self.tok.eos_token_id
        # SD 1 (FrozenCLIPEmbedder) pads with the end id; SD 2 (OpenCLIP) with 0, the "!" of the
        # diffusers SD 2 tokenizer.
        self.pad = self.tok.pad_token_id
        self.comma = self.tok.get_vocab()[",</w>"]
        self.lookup = {}  # first id -> [(ids, name, vectors)], longest first
        self.fixes = EmbeddingsWithFixes(self.model.embeddings.token_embedding)
        self.model.embeddings.token_embedding = self.fixes

    def ids(self, text):
        return self.tok(text, truncation=False, add_special_tokens=False)["input_ids"]

    def register(self, name, vectors):
        ids = self.ids(name)
        entries = [e for e in self.lookup.get(ids[0], []) if e[1] != name] + [(ids, name, vectors)]
        self.lookup[ids[0]] = sorted(entries, key=lambda e: len(e[0]), reverse=True)

    def find(self, tokens, offset):
        for ids, name, vectors in self.lookup.get(tokens[offset], []):
            if tokens[offset:offset + len(ids)] == ids:
                return (name, vectors), len(ids)
        return None, None

    def chunks(self, fragments):
        chunks, count = [], [0]
        state = {"tokens": [], "mults": [], "fixes": [], "comma": -1}

        def close(last=False):
            t, m = state["tokens"], state["mults"]
            count[0] += len(t) if last else self.CHUNK
            missing = self.CHUNK - len(t)
            t, m = t + [self.end] * max(missing, 0), m + [1.0] * max(missing, 0)
            chunks.append(([self.start] + t + [self.end], [1.0] + m + [1.0], state["fixes"]))
            state.update(tokens=[], mults=[], fixes=[], comma=-1)

        for (text, weight), tokens in zip(fragments, [self.ids(t) for t, _ in fragments]):
            if text == "BREAK" and weight == -1:
                close()
                continue
            pos = 0
            while pos < len(tokens):
                token = tokens[pos]
                if token == self.comma:
                    state["comma"] = len(state["tokens"])
                elif (len(state["tokens"]) == self.CHUNK and state["comma"] != -1
                      and len(state["tokens"]) - state["comma"] <= self.BACKTRACK):
                    cut = state["comma"] + 1
                    moved_t, moved_m = state["tokens"][cut:], state["mults"][cut:]
                    state["tokens"], state["mults"] = state["tokens"][:cut], state["mults"][:cut]
                    close()
                    state["tokens"], state["mults"] = moved_t, moved_m
                if len(state["tokens"]) == self.CHUNK:
                    close()
                emb, length = self.find(tokens, pos)
                if emb is None:
                    state["tokens"].append(token)
                    state["mults"].append(weight)
                    pos += 1
                    continue
                n = emb[1].shape[0]
                if len(state["tokens"]) + n > self.CHUNK:
                    close()
                state["fixes"].append((len(state["tokens"]), emb))
                state["tokens"] += [0] * n  # A1111 writes id 0 there; the vectors replace its row
                state["mults"] += [weight] * n
                pos += length
        if state["tokens"] or not chunks:
            close(last=True)
        return chunks, count[0]

    def encode_chunk(self, ids, mults, fixes):
        """(emphasised states, the states before emphasis, the ids as encoded)."""
        ids = list(ids)
        if self.end != self.pad:
            first = ids.index(self.end)
            ids[first + 1:] = [self.pad] * (len(ids) - first - 1)
        self.fixes.current = [(o, (n, v.to(self.dtype))) for o, (n, v) in fixes]
        with torch.no_grad():
            states = self.model(input_ids=torch.tensor([ids])).last_hidden_state
            z = emphasis(states, mults)
        return z, states, ids

    def encode(self, text):
        """(conditioning, states before emphasis per chunk, the emphasis of those states computed in
        float64, chunk rows, token count)."""
        chunks, count = self.chunks(parse(text))
        zs, states, exact, rows = [], [], [], []
        for ids, mults, fixes in chunks:
            z, s, final_ids = self.encode_chunk(ids, mults, fixes)
            zs.append(z)
            states.append(s)
            exact.append(emphasis(s.double(), mults).float())
            rows.append(dict(ids=final_ids, multipliers=mults))
        return torch.hstack(zs), torch.cat(states), torch.hstack(exact), rows, count


def emphasis(states, mults):
    """EmphasisOriginal on one chunk's states [1, 77, C], in the states' dtype."""
    before = states.mean()
    z = states * torch.asarray(mults, dtype=states.dtype).reshape(1, -1, 1).expand(states.shape)
    return z * (before / z.mean())


class EmbeddingsWithFixes(torch.nn.Module):
    """The token-embedding table with A1111's fixes: after the lookup, each fix's vectors replace the
    rows at offset + 1 (+1 for the start token)."""

    def __init__(self, wrapped):
        super().__init__()
        self.wrapped = wrapped
        self.current = []

    def forward(self, input_ids):
        out = self.wrapped(input_ids)
        rows = []
        for tensor in out:
            for offset, (_, vectors) in self.current:
                n = min(tensor.shape[0] - offset - 1, vectors.shape[0])
                tensor = torch.cat([tensor[:offset + 1], vectors[:n].to(tensor.dtype), tensor[offset + 1 + n:]])
            rows.append(tensor)
        self.current = []
        return torch.stack(rows)


def pad_pair(cond, uncond, empty):
    n = (cond.shape[1] - uncond.shape[1]) // empty.shape[1]
    if n < 0:
        cond = torch.cat([cond, empty.repeat(1, -n, 1)], dim=1)
    elif n > 0:
        uncond = torch.cat([uncond, empty.repeat(1, n, 1)], dim=1)
    return cond, uncond


# ------------------------------------------------------------------------------------------------

LONG = ("a very very very very very very tall castle on a hill, golden hour, dramatic clouds, highly detailed stone walls, banners in the wind, "
        "a winding road, pine forest, distant mountains with snow, a river with a wooden bridge, "
        "small houses with red roofs, smoke from chimneys, birds in the sky, warm light, soft shadows, "
        "oil painting, by a famous painter, trending, masterpiece, best quality, sharp focus")
NO_COMMAS = " ".join(["the quick brown fox jumps over the lazy dog"] * 10)

CASES = [
    # (name, model, prompt, negative prompt, embeddings)
    ("docstring", "sd1", "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).", "", False),
    ("escapes_nesting", "sd1", r"a \(literal\) photo of [[a cat]] and (dog:1.5) \\ (unbalanced [open", "(blurry:0.8)", False),
    ("stray_closers", "sd1", "a photo) of ] a :0.5) cat: (x:1.2.3x) ((a:1.5) b)", "", False),
    ("break", "sd1", "a red apple BREAK on a (wooden:1.2) table", "ugly BREAK", False),
    ("long_commas", "sd1", LONG, "blurry, (ugly:1.3)", False),
    ("long_no_commas", "sd1", NO_COMMAS, "", False),
    ("negative_longer", "sd1", "a (cat:1.2)", LONG, False),
    ("lora_tag", "sd1", "a cat <lora:foo_bar:0.8> sitting <hypernet:x:1:te=0.5>", "", False),
    ("embeddings", "sd1", "a portrait of mystyle, (<cat-toy>:1.2) and [learned_embeds]", "mystyle", True),
    ("sd2_long_break", "sd2", LONG + " BREAK (extra:1.4)", "bad", False),
    ("plain_text", "sd1", "a red apple on a wooden table", "blurry", False),
]


def tensor_rows(rows):
    return [dict(ids=r["ids"], multipliers=r["multipliers"]) for r in rows]


def main():
    os.makedirs(os.path.join(OUT, "embeddings"), exist_ok=True)
    g = torch.Generator().manual_seed(24)
    mystyle = torch.randn(2, 32, generator=g) * 0.05
    cattoy = torch.randn(32, generator=g) * 0.05
    save_file({"emb_params": mystyle}, os.path.join(OUT, "embeddings", "mystyle.safetensors"))
    save_file({"<cat-toy>": cattoy}, os.path.join(OUT, "embeddings", "learned_embeds.safetensors"))
    save_file({"emb_params": torch.randn(1, 48, generator=g)}, os.path.join(OUT, "embeddings", "wide.safetensors"))
    save_file({"a": torch.zeros(2, 32), "b": torch.zeros(2, 32)}, os.path.join(OUT, "embeddings", "two.safetensors"))

    # float32 as A1111 runs; float64 only to measure how far float32 itself is from exact arithmetic
    # (the emphasis divides two means of a chunk, which are small for these random encoders).
    encoders = {(m, d): Encoder(os.path.join(SD, m), d) for m in ("sd1", "sd2") for d in (torch.float32, torch.float64)}
    tensors, cases = {}, []
    for name, model, prompt, negative, use_embeddings in CASES:
        text, tags = strip_tags(prompt)
        results = {}
        for dtype in (torch.float32, torch.float64):
            enc = encoders[(model, dtype)]
            enc.lookup = {}
            if use_embeddings:
                # A1111 names an embedding after its file; the diffusers file's key is a second word for it.
                enc.register("mystyle", mystyle)
                enc.register("learned_embeds", cattoy[None])
                enc.register("<cat-toy>", cattoy[None])
            cond, _, _, cond_rows, cond_count = enc.encode(text)
            uncond, _, _, uncond_rows, uncond_count = enc.encode(negative)
            empty = enc.encode("")[0]
            results[dtype] = pad_pair(cond, uncond, empty)
        cond, uncond = results[torch.float32]
        noise = [float((a.double() - b).abs().max()) for a, b in zip(results[torch.float32], results[torch.float64])]
        tensors[f"{name}.cond"] = cond.contiguous()
        tensors[f"{name}.uncond"] = uncond.contiguous()
        # float32 states per chunk before emphasis (the encoder output the emphasis starts from), and
        # the emphasis of exactly those states in float64: A1111's formula without float32's rounding
        enc = encoders[(model, torch.float32)]
        for key, source in (("cond", text), ("uncond", negative)):
            _, states, exact, _, _ = enc.encode(source)
            tensors[f"{name}.{key}_states"] = states.contiguous()
            tensors[f"{name}.{key}_emphasis_exact"] = exact.contiguous()
        cases.append(dict(name=name, model=model, prompt=prompt, negative_prompt=negative,
                          embeddings=["mystyle.safetensors", "learned_embeds.safetensors"] if use_embeddings else [],
                          fragments=parse(text), tags=tags,
                          cond_chunks=tensor_rows(cond_rows), uncond_chunks=tensor_rows(uncond_rows),
                          cond_token_count=cond_count, uncond_token_count=uncond_count,
                          raw_token_count=len(encoders[(model, torch.float32)].ids(text)),
                          cond_shape=list(cond.shape), uncond_shape=list(uncond.shape),
                          float32_vs_float64=dict(cond=noise[0], uncond=noise[1])))
        print(f"{name}: cond {list(cond.shape)} uncond {list(uncond.shape)} fragments {len(parse(text))} tags {tags} "
              f"float32 vs float64 {noise[0]:.2e} {noise[1]:.2e}")
    save_file(tensors, os.path.join(OUT, "conditioning.safetensors"))

    # The long case through diffusers' pipeline, conditioned on the reference tensors.
    from diffusers import StableDiffusionPipeline
    pipe = StableDiffusionPipeline.from_pretrained(os.path.join(SD, "sd1"), dtype=torch.float32, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    image = pipe(prompt_embeds=tensors["long_commas.cond"], negative_prompt_embeds=tensors["long_commas.uncond"],
                 num_inference_steps=4, guidance_scale=7.5, width=48, height=32,
                 generator=torch.Generator().manual_seed(5)).images[0]
    image.save(os.path.join(OUT, "long_prompt.png"))
    image_case = dict(case="long_commas", model="sd1", steps=4, guidance=7.5, width=48, height=32, seed=5,
                      sampler="the folder's own (PNDM)", output="long_prompt.png")
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(dict(cases=cases, image=image_case), f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
