#!/usr/bin/env python3
"""Hostile inputs (issue #11, "prove it"): files an attacker or a broken phone would upload, made
here from nothing (no binary is committed), each run through `beian check` in a child process
of its own. For each: the documented outcome (docs/QUALITY.md step 1, docs/RESULTS.md: the
decoder's code in documents[0].quality.decode_error and the flag it becomes, or the CLI's
refusal), and the child's CPU time and peak RSS within the caps of docs/CONFIG.md ("Hostile
input"): 5 s CPU and 512 MB per process, whole pipeline included. Prints a table.

  it_hostile.py                  the test (ctest it_hostile)
  it_hostile.py --write DIR      write every input to DIR (to try them by hand)
  it_hostile.py --seeds DIR      write the small image inputs as a seed corpus (scripts/fuzz.sh)

Under ASan/UBSan (BEIAN_SANITIZED) outcomes are checked and figures printed, but the caps are
not applied: the sanitizers' own memory and time are not the decoder's."""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

from PIL import Image

BIN = os.environ.get("BEIAN_BIN", os.path.join(os.path.dirname(__file__), "..", "build"))
CPU_CAP_S = 5.0
RSS_CAP_MB = 512
MAX_UPLOAD = 31457280  # broker.max_upload, docs/CONFIG.md
SEED_MAX = 64 * 1024   # fuzz seeds: small files only


# ---- makers ---------------------------------------------------------------------------------
def card(w=320, h=200, mode="RGB"):
    """A synthetic test card: gradient and bars, nothing from a real document."""
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = (x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), 255 if (x // 16) % 2 else 40)
    return im.convert(mode) if mode != "RGB" else im


def save(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(w, h, depth, colour, interlace, idat):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + b"".join(png_chunk(b"IDAT", d) for d in idat) + png_chunk(b"IEND", b"")


def png_zeros(w, h, depth=8, colour=2):
    """A real, valid all-black PNG, compressed row by row (a decompression bomb when large)."""
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = b"\0" * (1 + w * ch * depth // 8)
    z = zlib.compressobj(9)
    out = [z.compress(row) for _ in range(h)]
    out.append(z.flush())
    return png(w, h, depth, colour, 0, [b"".join(out)])


def png_adam7_16(w, h):
    """A real interlaced (Adam7) 16-bit RGB PNG: PIL cannot write one."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        xs = range(x0, w, dx)
        for y in range(y0, h, dy):
            if len(xs):
                raw += b"\0" + b"".join(struct.pack(">HHH", x * 65535 // w, y * 65535 // h, 30000) for x in xs)
    return png(w, h, 16, 2, 1, [zlib.compress(bytes(raw), 9)])


def jpeg_header(sof, w, h, scans=1, comps=3):
    """SOI, a quantisation table, one frame header (SOF marker sof, comps components), scans
    SOS markers over every component with two bytes of 'data' each, EOI: a JPEG whose
    structure is the attack (the pixels are missing: a decoder that starts is already hurt)."""
    b = b"\xff\xd8\xff\xdb\x00\x43\x00" + b"\x01" * 64
    b += bytes([0xFF, sof]) + struct.pack(">HBHHB", 8 + 3 * comps, 8, h, w, comps)
    b += b"".join(bytes([c + 1, 0x11, 0]) for c in range(comps))
    se = 0 if sof in (0xC2, 0xCA) else 63  # a progressive scan starts with the DC coefficients
    sos = b"\xff\xda" + struct.pack(">HB", 6 + 2 * comps, comps) + b"".join(bytes([c + 1, 0]) for c in range(comps))
    b += (sos + bytes([0, se, 0]) + b"\x12\x34") * scans
    return b + b"\xff\xd9"


def jpeg_noninterleaved(w, h):
    """A sequential JPEG whose three components come in three scans: like a progressive one, the
    decoder must hold every coefficient of the frame until the last scan."""
    b = jpeg_header(0xC0, w, h, scans=0)[:-2]
    for c in range(3):
        b += b"\xff\xda\x00\x08\x01" + bytes([c + 1, 0, 0, 63, 0]) + b"\x12\x34"
    return b + b"\xff\xd9"


def tiff_header(w, h):
    """A little-endian TIFF whose IFD declares w x h 8-bit grey and one byte of strip."""
    tags = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8 + 2 + 10 * 12 + 4),
            (277, 3, 1), (278, 4, h), (279, 4, 1)]
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", t, typ, 1, v) for t, typ, v in tags)
    ifd += b"\0" * (12 * (10 - len(tags))) + struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0"


def bmp_rle(w, h):
    """An 8-bit RLE BMP of w x h black pixels: 2 bytes per 255 pixels, ~1 MB that a decoder
    would expand to w * h."""
    pal = b"\0\0\0\0" * 256
    row = b"\xff\x00" * (w // 255) + (bytes([w % 255, 0]) if w % 255 else b"") + b"\x00\x00"
    data = row * h + b"\x00\x01"
    off = 14 + 40 + len(pal)
    return (b"BM" + struct.pack("<IHHI", off + len(data), 0, 0, off)
            + struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 1, len(data), 2835, 2835, 256, 0) + pal + data)


def webp_lossless(w, h):
    """A lossless WebP whose header declares w x h (at most 16384 a side), with no more data."""
    bits = (w - 1) | (h - 1) << 14  # alpha 0, version 0
    body = b"VP8L" + struct.pack("<I", 5 + 9) + b"\x2f" + struct.pack("<I", bits) + b"\0" * 9  # even: RIFF pads
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def many_chunks_png(n):
    """A small valid PNG with n text chunks before its pixels (a parser's loop, not its memory)."""
    base = save(card(64, 48), "PNG")
    text = b"".join(png_chunk(b"tEXt", b"Comment\0%d" % i) for i in range(n))
    return base[:33] + text + base[33:]


# ---- the inputs ------------------------------------------------------------------------------
# (name, file name, bytes, expect). expect: ("decode", code) the quality stage's decode_error
# (None: decodes), ("cli", code) `beian check` refuses before any stage (exit 1, code on stderr),
# ("form", None) a form the job takes: a result, the (valid) image decoded.
FLAG_OF = {"format_unsupported": "format_unsupported", "image_corrupt": "format_unsupported",
           "image_too_complex": "format_unsupported", "image_too_large": "resolution_too_high"}


def image_inputs():
    jpg = save(card(), "JPEG", quality=85)
    pjpg = save(card(), "JPEG", quality=85, progressive=True)
    pngb = save(card(), "PNG")
    return [
        ("zero-byte", "empty.jpg", b"", ("decode", "format_unsupported")),
        ("text file", "notes.jpg", b"not an image, just text\n" * 20, ("decode", "format_unsupported")),
        # PDFs are decoded (docs/QUALITY.md "PDF uploads"): one without pages is damaged
        ("PDF", "scan.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", ("decode", "image_corrupt")),
        ("GIF", "photo.gif", save(card(64, 48), "GIF"), ("decode", "format_unsupported")),
        ("JPEG truncated at half", "half.jpg", jpg[: len(jpg) // 2], ("decode", "image_corrupt")),
        ("JPEG cut after header", "head.jpg", jpg[:200], ("decode", "image_corrupt")),
        ("JPEG magic + garbage", "junk.jpg", b"\xff\xd8\xff" + bytes((i * 131 + 7) & 255 for i in range(4000)), ("decode", "image_corrupt")),
        ("progressive JPEG truncated", "phalf.jpg", pjpg[: len(pjpg) * 2 // 3], ("decode", "image_corrupt")),
        ("PNG truncated at half", "half.png", pngb[: len(pngb) // 2], ("decode", "image_corrupt")),
        # a damaged last IDAT: its CRC is checked before decoding (the loader checks it only
        # when it reads past the last row, which libvips' sequential read did some runs and not
        # others: this case was flaky in CI before); and a row that cannot be unfiltered
        ("PNG bad IDAT CRC", "crc.png", pngb[:-20] + bytes([pngb[-20] ^ 0xFF]) + pngb[-19:], ("decode", "image_corrupt")),
        ("PNG bad row filter", "filter.png", png(200, 120, 8, 2, 0, [zlib.compress(b"".join(
            (b"\x07" if y == 60 else b"\x00") + bytes((x * 7 + y) & 255 for x in range(600)) for y in range(120)))]),
         ("decode", "image_corrupt")),
        ("PNG declares 60000^2", "bomb.png", png(60000, 60000, 8, 2, 0, [zlib.compress(b"\0" * 60001 * 3)]), ("decode", "image_too_large")),
        ("PNG 10001x10000 zeros", "zeros.png", png_zeros(10001, 10000, 8, 0), ("decode", "image_too_large")),
        ("PNG 20001x1 strip", "strip.png", png_zeros(20001, 1), ("decode", "image_too_large")),
        ("JPEG declares 65500^2", "bomb.jpg", jpeg_header(0xC0, 65500, 65500), ("decode", "image_too_large")),
        ("JPEG 5000 scans", "scans.jpg", jpeg_header(0xC2, 64, 64, 5000), ("decode", "image_too_complex")),
        ("non-interleaved JPEG 10000^2", "scans3.jpg", jpeg_noninterleaved(10000, 10000), ("decode", "image_too_large")),
        ("progressive JPEG 10000^2", "prog.jpg", jpeg_header(0xC2, 10000, 10000), ("decode", "image_too_large")),
        ("arithmetic progressive 10000^2", "prog-ac.jpg", jpeg_header(0xCA, 10000, 10000), ("decode", "image_too_large")),
        ("interlaced 16-bit PNG 6000^2", "adam7-big.png", png(6000, 6000, 16, 6, 1, [b""]), ("decode", "image_too_large")),
        ("TIFF declares 100000^2", "bomb.tif", tiff_header(100000, 100000), ("decode", "image_too_large")),
        ("RLE BMP 11000^2", "bomb.bmp", bmp_rle(11000, 11000), ("decode", "image_too_large")),
        ("WebP declares 16000^2", "bomb.webp", webp_lossless(16000, 16000), ("decode", "image_too_large")),
        # decode: supported oddities are decoded, not refused
        ("interlaced 16-bit PNG 320x200", "adam7.png", png_adam7_16(320, 200), ("decode", None)),
        ("CMYK JPEG", "cmyk.jpg", save(card(mode="CMYK"), "JPEG", quality=85), ("decode", None)),
        ("PNG named .jpg", "png.jpg", pngb, ("decode", None)),
        ("JPEG named .png", "jpeg.png", jpg, ("decode", None)),
        ("grey 16-bit PNG", "grey16.png", save(card().convert("L").convert("I").point(lambda v: v * 257), "PNG"), ("decode", None)),
        ("palette PNG with alpha", "pal.png", save(card(64, 48).convert("P"), "PNG", transparency=0), ("decode", None)),
        ("PNG with 20000 text chunks", "chunks.png", many_chunks_png(20000), ("decode", None)),
        ("TIFF", "scan.tif", save(card(), "TIFF"), ("decode", None)),
        ("RLE BMP 320x200", "rle.bmp", bmp_rle(320, 200), ("decode", None)),
        ("WebP", "photo.webp", save(card(), "WEBP", quality=80), ("decode", None)),
        ("PNG 8000^2 zeros (under the caps)", "zeros8k.png", png_zeros(8000, 8000), ("decode", None)),
    ]


def form_inputs():
    """Hostile applicant forms (--form F.json) with a valid image."""
    deep = "[" * 100000 + "]" * 100000
    return [
        ("form nested 100000 deep", "deep.json", ('{"name": %s}' % deep).encode(), ("cli", "form")),
        # issue #12: a form outside docs/form.schema.json is refused before any stage runs
        ("form nested 1000 deep", "nest.json", ('{"name": "X", "x": %s}' % ("[" * 1000 + "]" * 1000)).encode(),
         ("cli", "form_invalid")),
        ("form name of 3 MB", "long.json", json.dumps({"name": "张" * 1000000}, ensure_ascii=False).encode(),
         ("cli", "form_invalid")),
        ("form with 100000 keys", "keys.json", json.dumps({"k%d" % i: "v" for i in range(100000)}).encode(),
         ("cli", "form_invalid")),
        ("form every key at its longest", "max.json", json.dumps(
            {"name": "张" * 128, "id_number": "1" * 32, "address": "路" * 256, "company_name": "司" * 256,
             "credit_code": "9" * 32, "entity_type": "企" * 64, "domain": "a" * 249 + ".com", "province": "省" * 32},
            ensure_ascii=False).encode(), ("form", None)),
        ("form not an object", "array.json", b"[1, 2, 3]", ("cli", "form")),
        ("form invalid UTF-8", "utf8.json", b'{"name": "\xff\xfe"}', ("cli", "form")),
        ("form with NUL escape", "nul.json", b'{"name": "a\\u0000b"}', ("cli", "form")),
    ]


def upload_inputs():
    big = b"\xff\xd8\xff\xe0" + b"\0" * (MAX_UPLOAD - 3)  # one byte over the upload limit
    return [("JPEG of 30 MiB + 1 byte", "huge.jpg", big, ("cli", "upload_too_large"))]


def write(dirname, inputs):
    os.makedirs(dirname, exist_ok=True)
    for _, fname, data, _ in inputs:
        with open(os.path.join(dirname, fname), "wb") as f:
            f.write(data)


# ---- the test --------------------------------------------------------------------------------
def run(argv):
    """Run argv in a child; returns (exit code, stdout, stderr, CPU s, peak RSS MB) of that child
    alone (wait4, not RUSAGE_CHILDREN, which sums every child so far)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read().decode(errors="replace"), ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def main():
    if len(sys.argv) == 3 and sys.argv[1] in ("--write", "--seeds"):
        inputs = image_inputs()
        if sys.argv[1] == "--write":
            inputs += form_inputs() + upload_inputs()
        else:
            inputs = [i for i in inputs if len(i[2]) <= SEED_MAX]
        write(sys.argv[2], inputs)
        print("%d inputs in %s" % (len(inputs), sys.argv[2]))
        return 0
    beian = os.path.join(BIN, "beian")
    if not os.access(beian, os.X_OK):
        print("SKIP: no", beian)
        return 77
    sanitized = os.environ.get("BEIAN_SANITIZED") == "1"
    tmp = tempfile.mkdtemp(prefix="beian-hostile-")
    good = os.path.join(tmp, "good.jpg")
    with open(good, "wb") as f:
        f.write(save(card(), "JPEG", quality=85))
    failures = []
    rows = []
    cases = [(i, ["--doc", "id-card:front=" + os.path.join(tmp, i[1])]) for i in image_inputs() + upload_inputs()]
    cases += [(i, ["--doc", "id-card:front=" + good, "--form", os.path.join(tmp, i[1])]) for i in form_inputs()]
    for (name, fname, data, (kind, code)), args in cases:
        write(tmp, [(name, fname, data, None)])
        rc, out, err, cpu, rss = run([beian, "check", "--json"] + args)
        os.unlink(os.path.join(tmp, fname))
        if kind == "cli":
            got = "exit %d" % rc
            ok = rc == 1 and code in err
            want = "exit 1, %s" % code
        else:
            try:
                res = json.loads(out)
                doc = res["documents"][0]
                got = doc["quality"].get("decode_error")
                flags = [f["code"] for f in doc["flags"]]
                ok = rc == 0 and got == code and (code is None or FLAG_OF[code] in flags)
                if code is None:  # decoded: the pipeline ran on it and said something
                    ok = ok and "format_unsupported" not in flags and doc["quality"].get("format")
                    got = "result" if kind == "form" else "decodes"
            except (ValueError, KeyError, IndexError, TypeError) as e:
                got, ok = "no result (exit %d: %s; %s)" % (rc, e, err.strip()[-200:]), False
            want = code or ("a result" if kind == "form" else "decodes")
        within = sanitized or (cpu <= CPU_CAP_S and rss <= RSS_CAP_MB)
        rows.append((name, len(data), str(got), cpu, rss, "ok" if ok and within else "FAIL"))
        if not ok:
            failures.append("%s: expected %s, got %s" % (name, want, got))
        if not within:
            failures.append("%s: %.2f s CPU, %.0f MB peak RSS over the caps (%.0f s, %d MB)" % (name, cpu, rss, CPU_CAP_S, RSS_CAP_MB))
    os.unlink(good)
    os.rmdir(tmp)
    print("%-36s %10s  %-22s %6s %8s" % ("input", "bytes", "code", "CPU s", "RSS MB"))
    for r in rows:
        print("%-36s %10d  %-22s %6.2f %8.0f  %s" % r)
    worst_cpu = max(rows, key=lambda r: r[3])
    worst_rss = max(rows, key=lambda r: r[4])
    print("%d inputs, %d as documented; worst CPU %.2f s (%s), worst peak RSS %.0f MB (%s)%s" % (
        len(rows), sum(r[5] == "ok" for r in rows), worst_cpu[3], worst_cpu[0], worst_rss[4], worst_rss[0],
        " [sanitized: caps not applied]" if sanitized else ""))
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
