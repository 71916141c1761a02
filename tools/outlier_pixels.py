#!/usr/bin/env python3
"""Counts, per pixel position, how many images have an outlier there: a pixel one of whose
channels differs by more than THRESHOLD (default 100 of 255) from the median of its 8 neighbours.

  python3 tools/outlier_pixels.py [--threshold N] IMAGE.png …

Prints the count grid (one row per y, "." for 0) for same-sized 8-bit RGB/RGBA PNGs. A position
that counts high across many unrelated images is a fixed-position artifact (BENCHMARKS.md, the
bundled model, session 11). Standard library only (a minimal PNG decoder: 8-bit, non-interlaced).
"""

import argparse
import statistics
import struct
import sys
import zlib

PROG = "outlier_pixels.py"


def fail(message):
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(2)


def read_png(path):
    """(width, height, bytes per pixel, rows of bytes) of an 8-bit non-interlaced PNG."""
    try:
        data = open(path, "rb").read()
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG file")
    pos, idat, header = 8, b"", None
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind, chunk = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk[:13])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    if header is None:
        fail(f"{path}: no IHDR chunk")
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace:
        fail(f"{path}: only 8-bit non-interlaced grey/RGB/RGBA PNGs are read (depth {depth}, colour type {color})")
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous, at = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def main():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("images", nargs="+", metavar="IMAGE.png")
    p.add_argument("--threshold", type=int, default=100, help="difference from the neighbours' median (default 100)")
    a = p.parse_args()
    size, counts = None, None
    for path in a.images:
        width, height, channels, rows = read_png(path)
        if size is None:
            size, counts = (width, height), [[0] * width for _ in range(height)]
        elif size != (width, height):
            fail(f"{path} is {width}×{height}, the first image {size[0]}×{size[1]}")
        colours = min(channels, 3)
        for y in range(1, height - 1):
            for x in range(1, width - 1):
                worst = 0
                for ch in range(colours):
                    value = rows[y][x * channels + ch]
                    around = [rows[y + dy][(x + dx) * channels + ch]
                              for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dx or dy]
                    worst = max(worst, abs(value - statistics.median(around)))
                if worst > a.threshold:
                    counts[y][x] += 1
    print(f"{len(a.images)} images, {size[0]}×{size[1]}: images with an outlier (> {a.threshold}) at each pixel")
    for y, row in enumerate(counts):
        print(f"{y:3d} " + " ".join(f"{n:2d}" if n else " ." for n in row))


if __name__ == "__main__":
    main()
