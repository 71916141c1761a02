#!/usr/bin/env python3
"""Writes the committed test fixtures of the DiffuseFormats target into Tests/Fixtures/formats/.

Uses only the Python standard library (struct, json, zlib, random), so the files come from an
encoder that shares no code with the Swift one:

  safetensors-valid/python_written.safetensors   a file written by hand, with expected values
  safetensors-valid/python_written.json            (tensor -> dtype, shape, float32 bit patterns)
  safetensors-malformed/*.safetensors              one file per validation failure
  safetensors-malformed/manifest.json              file -> expected SafeTensorsError case
  png/*.png + png/expected/*.bin                   PNGs of every color type / bit depth / filter /
  png/manifest.json                                interlacing, with the expected 8-bit pixels
  png-malformed/*.png + manifest.json              broken PNGs and the PNGError case each gives

Run from anywhere:  python3 tools/make_format_fixtures.py
The output is deterministic (fixed seeds), so re-running it leaves the committed files unchanged
unless this script changes.
"""

import json
import os
import random
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "formats")


def out_path(*parts):
    path = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def write_bytes(data, *parts):
    with open(out_path(*parts), "wb") as f:
        f.write(data)


def write_json(obj, *parts):
    with open(out_path(*parts), "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------------------------------------
# safetensors

def f32_bits(x):
    """The float32 bit pattern of x rounded to float32 (round to nearest even, as C does;
    values beyond the float32 range become infinity, which struct refuses to do)."""
    try:
        return struct.unpack("<I", struct.pack("<f", x))[0]
    except OverflowError:
        return 0xFF800000 if x < 0 else 0x7F800000


def safetensors_bytes(header, data=b"", pad=True, raw_header=None):
    """header: a dict dumped with json (or raw_header bytes used as is); padded with spaces to 8."""
    h = raw_header if raw_header is not None else json.dumps(header).encode("utf-8")
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def make_valid_safetensors():
    # (name, dtype, shape, packed bytes, expected float32 bit patterns). The order puts odd-sized
    # tensors first so later multi-byte tensors are unaligned in the file: readers must cope.
    u8 = [0, 7, 255]
    i8 = [-128, -1, 127]
    f16 = [1.0, -2.5, 0.0999755859375, 65504.0, float("inf"), -0.0, 5.960464477539063e-08, 6.103515625e-05]
    bf16_vals = [1.0, -3.140625, 1.0e30, float("-inf")]
    bf16_bits = [f32_bits(v) >> 16 for v in bf16_vals]
    i16 = [-32768, 12345]
    u16 = [65535, 1]
    f32 = [0.5, -1.25, 3.4028234663852886e38, 1.401298464324817e-45, 1e-3, 7.0]
    f64 = [1.0 / 3.0, -1e300, 2.5]
    i32 = [-2147483648, 2147483647, 16777217]
    u32 = [4294967295, 3]
    i64 = [-(2 ** 40) - 1, 2 ** 53 + 1]
    u64 = [2 ** 64 - 1, 42]
    booleans = [0, 1, 2, 0]
    tensors = [
        ("u8", "U8", [3], struct.pack("<3B", *u8), [f32_bits(v) for v in u8]),
        ("i8", "I8", [3], struct.pack("<3b", *i8), [f32_bits(v) for v in i8]),
        ("f16", "F16", [2, 4], struct.pack("<8e", *f16), [f32_bits(v) for v in f16]),
        ("bool", "BOOL", [4], struct.pack("<4B", *booleans), [f32_bits(1.0 if v else 0.0) for v in booleans]),
        ("bf16", "BF16", [4], struct.pack("<4H", *bf16_bits), [b << 16 for b in bf16_bits]),
        ("i16", "I16", [2], struct.pack("<2h", *i16), [f32_bits(v) for v in i16]),
        ("u16", "U16", [2, 1], struct.pack("<2H", *u16), [f32_bits(v) for v in u16]),
        ("f32", "F32", [2, 3], struct.pack("<6f", *f32), [f32_bits(v) for v in f32]),
        ("f64", "F64", [3], struct.pack("<3d", *f64), [f32_bits(v) for v in f64]),
        ("i32", "I32", [3], struct.pack("<3i", *i32), [f32_bits(float(v)) for v in i32]),
        ("u32", "U32", [2], struct.pack("<2I", *u32), [f32_bits(float(v)) for v in u32]),
        ("i64", "I64", [2], struct.pack("<2q", *i64), [f32_bits(float(v)) for v in i64]),
        ("u64", "U64", [2], struct.pack("<2Q", *u64), [f32_bits(float(v)) for v in u64]),
        ("scalar", "F32", [], struct.pack("<f", -6.5), [f32_bits(-6.5)]),
        ("empty", "F16", [0, 3], b"", []),
    ]
    header = {"__metadata__": {"format": "pt", "writer": "make_format_fixtures.py", "unicode": "caf\u00e9 \u732b"}}
    data = b""
    expected = {}
    for name, dtype, shape, raw, bits in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        expected[name] = {"dtype": dtype, "shape": shape, "float_bits": bits}
        data += raw
    write_bytes(safetensors_bytes(header, data), "safetensors-valid", "python_written.safetensors")
    write_json({"metadata": header["__metadata__"], "tensors": expected}, "safetensors-valid", "python_written.json")


def make_malformed_safetensors():
    ok = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    eight = b"\x00" * 8
    cases = {}

    def add(name, error, data):
        write_bytes(data, "safetensors-malformed", name + ".safetensors")
        cases[name + ".safetensors"] = error

    add("truncated", "fileTooShort", b"\x10\x00\x00\x00\x00")
    add("empty", "fileTooShort", b"")
    add("header_past_eof", "headerPastEndOfFile", struct.pack("<Q", 1000) + b'{"a": 1}')
    add("header_absurd", "headerTooLarge", struct.pack("<Q", 1 << 40) + b"{}      ")
    add("header_not_utf8", "headerNotUTF8", safetensors_bytes(None, raw_header=b'{"\xff\xfe": 1}'))
    add("bad_json", "invalidHeaderJSON", safetensors_bytes(None, raw_header=b'{"a": {"dtype": "F32",'))
    add("trailing_garbage", "invalidHeaderJSON", safetensors_bytes(None, raw_header=b"{} x"))
    add("deep_nesting", "invalidHeaderJSON", safetensors_bytes(None, raw_header=b"[" * 5000 + b"]" * 5000))
    add("header_not_object", "headerNotObject", safetensors_bytes([1, 2]))
    add("duplicate_name", "duplicateTensorName", safetensors_bytes(None, eight * 2, raw_header=(
        b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
        b'"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}')))
    add("entry_not_object", "entryNotObject", safetensors_bytes({"w": [1, 2]}))
    add("missing_dtype", "missingField", safetensors_bytes({"w": {"shape": [2], "data_offsets": [0, 8]}}, eight))
    add("missing_offsets", "missingField", safetensors_bytes({"w": {"dtype": "F32", "shape": [2]}}, eight))
    add("dtype_not_string", "wrongFieldType", safetensors_bytes({"w": dict(ok, dtype=7)}, eight))
    add("shape_not_array", "wrongFieldType", safetensors_bytes({"w": dict(ok, shape="2")}, eight))
    add("unknown_dtype", "unknownDType", safetensors_bytes({"w": dict(ok, dtype="F8_E4M3")}, eight))
    add("negative_shape", "invalidShape", safetensors_bytes({"w": dict(ok, shape=[-2])}, eight))
    add("fractional_shape", "invalidShape", safetensors_bytes({"w": dict(ok, shape=[2.0])}, eight))
    add("overflowing_shape", "invalidShape",
        safetensors_bytes({"w": dict(ok, shape=[2 ** 32, 2 ** 32, 2 ** 32])}, eight))
    add("offsets_one_value", "invalidDataOffsets", safetensors_bytes({"w": dict(ok, data_offsets=[0])}, eight))
    add("offsets_negative", "invalidDataOffsets", safetensors_bytes({"w": dict(ok, data_offsets=[-8, 0])}, eight))
    add("offsets_reversed", "reversedDataOffsets", safetensors_bytes({"w": dict(ok, data_offsets=[8, 0])}, eight))
    add("shape_size_mismatch", "shapeSizeMismatch", safetensors_bytes({"w": dict(ok, shape=[3])}, eight))
    add("overlapping", "overlappingTensors", safetensors_bytes(
        {"a": dict(ok, data_offsets=[0, 8]), "b": dict(ok, data_offsets=[4, 12])}, eight * 2))
    add("out_of_range", "dataOffsetsOutOfRange", safetensors_bytes(
        {"a": dict(ok, data_offsets=[0, 8]), "b": dict(ok, data_offsets=[1000, 1008])}, eight * 2))
    add("data_truncated", "dataTruncated", safetensors_bytes(
        {"a": dict(ok, data_offsets=[0, 8]), "b": dict(ok, data_offsets=[8, 16])}, eight + b"\x00\x00\x00"))
    add("metadata_not_strings", "invalidMetadata", safetensors_bytes({"__metadata__": {"epoch": 3}}))
    add("metadata_not_object", "invalidMetadata", safetensors_bytes({"__metadata__": ["a"]}))
    write_json(cases, "safetensors-malformed", "manifest.json")


# ---------------------------------------------------------------------------------------------
# PNG

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
SIGNATURE = b"\x89PNG\r\n\x1a\n"
SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(ctype, data):
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def pack_samples(samples, depth):
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    out = bytearray()
    acc, nbits = 0, 0
    for s in samples:
        acc = (acc << depth) | s
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_scanline(ftype, line, prev, bpp):
    out = bytearray([ftype])
    for i, x in enumerate(line):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
        out.append((x - pred) & 0xFF)
    return bytes(out)


def encode_png(width, height, color_type, depth, grid, plte=None, trns=None, interlace=False,
               filters="cycle", pre_idat=b"", idat_pieces=1, post_idat=b""):
    """grid[y][x] is a tuple of raw samples. filters: 'cycle' (row y uses y % 5) or an int."""
    spp = SAMPLES[color_type]
    bpp = max(1, spp * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = bytearray()
    row_index = 0
    for x0, y0, dx, dy in passes:
        xs = list(range(x0, width, dx))
        ys = list(range(y0, height, dy))
        if not xs or not ys:
            continue
        prev = bytes(len(pack_samples([0] * (len(xs) * spp), depth)))
        for y in ys:
            line = pack_samples([s for x in xs for s in grid[y][x]], depth)
            ftype = row_index % 5 if filters == "cycle" else filters
            raw += filter_scanline(ftype, line, prev, bpp)
            prev = line
            row_index += 1
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 1 if interlace else 0)
    body = zlib.compress(bytes(raw), 9)
    png = SIGNATURE + chunk(b"IHDR", ihdr) + pre_idat
    if plte is not None:
        png += chunk(b"PLTE", bytes(v for rgb in plte for v in rgb))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    cuts = [len(body) * k // idat_pieces for k in range(idat_pieces + 1)]
    for k in range(idat_pieces):
        png += chunk(b"IDAT", body[cuts[k]:cuts[k + 1]])
    if idat_pieces > 1:
        png += chunk(b"IDAT", b"")  # an empty IDAT is legal
    return png + post_idat + chunk(b"IEND", b"")


def to8(v, depth):
    """Expected 8-bit value of a raw gray/color sample (PNGDecoder's documented scaling)."""
    if depth == 16:
        return round(v / 257)
    return v * 255 // ((1 << depth) - 1)


def expected_pixels(width, height, color_type, depth, grid, plte=None, trns=None):
    out = bytearray()
    channels = None
    for y in range(height):
        for x in range(width):
            px = grid[y][x]
            if color_type == 3:
                rgb = plte[px[0]]
                out += bytes(rgb)
                channels = 3
                if trns is not None:
                    out.append(trns[px[0]] if px[0] < len(trns) else 255)
                    channels = 4
            elif color_type in (0, 2) and trns is not None:
                key = struct.unpack(">%dH" % SAMPLES[color_type], trns)
                out += bytes(to8(v, depth) for v in px)
                out.append(0 if tuple(px) == key else 255)
                channels = SAMPLES[color_type] + 1
            else:
                out += bytes(to8(v, depth) for v in px)
                channels = SAMPLES[color_type]
    return bytes(out), channels


def text_chunk(kind, keyword, text):
    kw = keyword.encode("latin-1") + b"\x00"
    if kind == "tEXt":
        return chunk(b"tEXt", kw + text.encode("latin-1"))
    if kind == "zTXt":
        return chunk(b"zTXt", kw + b"\x00" + zlib.compress(text.encode("latin-1")))
    if kind == "iTXt":
        return chunk(b"iTXt", kw + b"\x00\x00" + b"en\x00" + b"translated\x00" + text.encode("utf-8"))
    if kind == "iTXt-z":
        return chunk(b"iTXt", kw + b"\x01\x00" + b"\x00" + b"\x00" + zlib.compress(text.encode("utf-8")))
    raise ValueError(kind)


def make_pngs():
    rng = random.Random(1234)
    manifest = []

    def grid_of(width, height, spp, maxval):
        return [[tuple(rng.randint(0, maxval) for _ in range(spp)) for _ in range(width)] for _ in range(height)]

    def add(name, width, height, color_type, depth, grid=None, plte=None, trns=None, text=(), **kwargs):
        if grid is None:
            grid = grid_of(width, height, SAMPLES[color_type], (1 << depth) - 1)
        if plte is not None:
            grid = [[(rng.randrange(len(plte)),) for _ in range(width)] for _ in range(height)]
        pre = b"".join(text_chunk(kind, k, v) for kind, k, v in text)
        data = encode_png(width, height, color_type, depth, grid, plte, trns, pre_idat=pre, **kwargs)
        pixels, channels = expected_pixels(width, height, color_type, depth, grid, plte, trns)
        write_bytes(data, "png", name + ".png")
        write_bytes(pixels, "png", "expected", name + ".bin")
        manifest.append({"file": name + ".png", "expected": "expected/" + name + ".bin", "width": width,
                         "height": height, "channels": channels,
                         "text": [[k, v] for _, k, v in text]})

    def palette(n):
        return [(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)) for _ in range(n)]

    add("gray1", 13, 9, 0, 1)
    add("gray2", 13, 9, 0, 2)
    add("gray4", 13, 9, 0, 4)
    add("gray8", 16, 8, 0, 8)
    add("gray16", 11, 7, 0, 16)
    add("gray4_trns", 9, 6, 0, 4, grid=[[(rng.choice([5, rng.randint(0, 15)]),) for _ in range(9)] for _ in range(6)],
        trns=struct.pack(">H", 5))
    add("gray8_trns", 10, 5, 0, 8, grid=[[(rng.choice([77, rng.randint(0, 255)]),) for _ in range(10)] for _ in range(5)],
        trns=struct.pack(">H", 77))
    add("gray16_trns", 6, 4, 0, 16, grid=[[(rng.choice([4097, 4096, rng.randint(0, 65535)]),) for _ in range(6)] for _ in range(4)],
        trns=struct.pack(">H", 4097))
    for f in range(5):
        add("rgb8_filter%d" % f, 17, 9, 2, 8, filters=f)
    add("rgb16", 9, 7, 2, 16)
    key = (10, 20, 30)
    add("rgb8_trns", 8, 6, 2, 8, grid=[[rng.choice([key, (10, 20, 31), tuple(rng.randint(0, 255) for _ in range(3))])
                                        for _ in range(8)] for _ in range(6)], trns=struct.pack(">3H", *key))
    add("pal1_trns", 13, 5, 3, 1, plte=palette(2), trns=bytes([0]))
    add("pal2", 11, 7, 3, 2, plte=palette(4))
    add("pal4_trns", 15, 6, 3, 4, plte=palette(16), trns=bytes([0, 64, 128, 200, 255]))
    add("pal8", 20, 10, 3, 8, plte=palette(200))
    add("pal8_trns", 12, 12, 3, 8, plte=palette(256), trns=bytes(rng.randint(0, 255) for _ in range(256)))
    add("ga8", 10, 7, 4, 8)
    add("ga16", 7, 5, 4, 16)
    add("rgba8", 12, 9, 6, 8)
    add("rgba16", 8, 6, 6, 16)
    add("rgba8_adam7", 13, 11, 6, 8, interlace=True)
    add("gray2_adam7", 7, 5, 0, 2, interlace=True)
    add("pal4_adam7_trns", 10, 10, 3, 4, plte=palette(9), trns=bytes([0, 100]), interlace=True)
    add("rgb16_adam7_1x1", 1, 1, 2, 16, interlace=True)
    add("rgb8_adam7_3x2", 3, 2, 2, 8, interlace=True)
    add("gray16_adam7", 9, 9, 0, 16, interlace=True)
    add("rgb8_multi_idat", 40, 30, 2, 8, idat_pieces=4)
    gradient = [[((x * 255) // 199, (y * 255) // 149, ((x + y) * 3) % 256) for x in range(200)] for y in range(150)]
    add("rgb8_gradient_200x150", 200, 150, 2, 8, grid=gradient)
    add("rgb8_text", 6, 4, 2, 8, text=[
        ("tEXt", "parameters", "a caf\u00e9, 50\u00b0 sun\nSteps: 20, Sampler: Euler a, CFG scale: 7.0, Seed: 1, Size: 6x4"),
        ("zTXt", "Comment", "compressed comment " * 20),
        ("iTXt", "Title", "\u732b and \u00e9"),
        ("iTXt-z", "Description", "compressed UTF-8: \u4e2d\u6587 " * 10),
    ], post_idat=chunk(b"prVt", b"private ancillary data") + chunk(b"tIME", b"\x07\xe8\x01\x02\x03\x04\x05"))
    write_json(manifest, "png", "manifest.json")


def make_malformed_pngs():
    rng = random.Random(99)
    grid = [[(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)) for _ in range(8)] for _ in range(8)]
    good = encode_png(8, 8, 2, 8, grid)
    ihdr_end = 8 + 25
    cases = {}

    def add(name, error, data, chunk_type=None):
        write_bytes(data, "png-malformed", name + ".png")
        entry = {"error": error}
        if chunk_type:
            entry["chunk"] = chunk_type
        cases[name + ".png"] = entry

    def raw_png(ihdr_fields, raw_rows, extra=b"", plte=None):
        ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", *ihdr_fields))
        body = SIGNATURE + ihdr + (chunk(b"PLTE", plte) if plte else b"")
        return body + extra + chunk(b"IDAT", zlib.compress(raw_rows)) + chunk(b"IEND", b"")

    add("empty", "notPNG", b"")
    add("bad_signature", "notPNG", b"\x89PNG\r\n\x1a\x0b" + good[8:])
    add("jpeg", "notPNG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32))
    corrupt = bytearray(good)
    corrupt[ihdr_end + 8 + 5] ^= 0x01  # a byte inside the IDAT data; its CRC no longer matches
    add("bad_crc", "crcMismatch", bytes(corrupt), "IDAT")
    bad_ihdr_crc = bytearray(good)
    bad_ihdr_crc[8 + 8 + 3] ^= 0x40  # width byte of IHDR
    add("bad_crc_ihdr", "crcMismatch", bytes(bad_ihdr_crc), "IHDR")
    add("truncated_in_chunk", "truncated", good[: ihdr_end + 20])
    add("truncated_in_header", "truncated", good[: ihdr_end + 5])
    add("no_iend", "truncated", good[:-12])
    add("missing_idat", "missingChunk", SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IEND", b""), "IDAT")
    add("ihdr_not_first", "badIHDR", SIGNATURE + chunk(b"gAMA", struct.pack(">I", 45455)) + good[8:])
    add("zero_width", "badIHDR", raw_png((0, 4, 8, 2, 0, 0, 0), b""))
    add("bad_color_type", "badIHDR", raw_png((4, 4, 8, 5, 0, 0, 0), bytes(4 * 13)))
    add("bad_interlace_method", "badIHDR", raw_png((2, 2, 8, 0, 0, 0, 2), bytes(6)))
    add("gray_depth3", "unsupported", raw_png((4, 4, 3, 0, 0, 0, 0), bytes(4 * 3)))
    add("rgb_depth4", "unsupported", raw_png((4, 4, 4, 2, 0, 0, 0), bytes(4 * 7)))
    add("unknown_critical_chunk", "unsupported", good[:ihdr_end] + chunk(b"XYZW", b"data") + good[ihdr_end:])
    add("huge", "imageTooLarge", raw_png((100000, 100000, 8, 0, 0, 0, 0), b"\x00"))
    add("bad_zlib", "decompressionFailed", good[:ihdr_end] + chunk(b"IDAT", b"\x78\x9c\xff\xff garbage")
        + chunk(b"IEND", b""), "IDAT")
    add("truncated_zlib", "decompressionFailed", good[:ihdr_end]
        + chunk(b"IDAT", zlib.compress(bytes(rng.randint(0, 255) for _ in range(8 * 25)))[:60])
        + chunk(b"IEND", b""), "IDAT")
    add("short_image_data", "corruptImageData", raw_png((8, 8, 8, 2, 0, 0, 0), bytes(25 * 5)))
    add("bad_filter_type", "corruptImageData", raw_png((2, 2, 8, 0, 0, 0, 0), b"\x00\x01\x02\x07\x03\x04"))
    add("palette_index_out_of_range", "corruptImageData",
        raw_png((2, 2, 8, 3, 0, 0, 0), b"\x00\x00\x01\x00\x01\x05", plte=bytes(6)))
    add("palette_without_plte", "missingChunk", raw_png((2, 2, 8, 3, 0, 0, 0), b"\x00\x00\x00\x00\x00\x00"), "PLTE")
    add("plte_bad_length", "badChunk", raw_png((2, 2, 8, 3, 0, 0, 0), bytes(6), plte=bytes(7)), "PLTE")
    add("trns_for_rgba", "badChunk", raw_png((1, 1, 8, 6, 0, 0, 0), bytes(5), extra=chunk(b"tRNS", bytes(6))), "tRNS")
    write_json(cases, "png-malformed", "manifest.json")


if __name__ == "__main__":
    make_valid_safetensors()
    make_malformed_safetensors()
    make_pngs()
    make_malformed_pngs()
    print("fixtures written to", os.path.normpath(ROOT))
