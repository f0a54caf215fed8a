"""A tiny, real PDF writer for test fixtures: text lines in a CJK font, no embedding.

Japanese call documents are commonly produced with non-embedded CID fonts; this writes the same
structure (Type0 font, `UniJIS-UTF16-H` encoding, Adobe-Japan1 CID font) so that pypdf has to do the
real work of decoding it. Run as a script to regenerate the committed fixture:

    PYTHONPATH=. python tests/spiders/pdfgen.py tests/fixtures/spiders/atla_r07_themes.pdf
"""

from __future__ import annotations

import sys
from pathlib import Path

PAGE_LINES = 40


def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def build_pdf(lines: list[str]) -> bytes:
    """A valid multi-page PDF showing `lines` (40 per page) in a Japanese CID font."""
    pages = [lines[i : i + PAGE_LINES] for i in range(0, max(len(lines), 1), PAGE_LINES)] or [[]]
    objects: list[bytes] = []  # object n is objects[n-1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    font = add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /KozMinPr6N-Regular /Encoding /UniJIS-UTF16-H "
        b"/DescendantFonts [" + str(len(objects) + 2).encode() + b" 0 R] >>"
    )
    add(
        b"<< /Type /FontDescriptor /FontName /KozMinPr6N-Regular /Flags 6 /FontBBox [-437 -340 1147 1317] "
        b"/ItalicAngle 0 /Ascent 1317 /Descent -349 /CapHeight 742 /StemV 80 >>"
    )
    descendant = add(
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /KozMinPr6N-Regular "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 6 >> "
        b"/FontDescriptor " + str(font + 1).encode() + b" 0 R /DW 1000 >>"
    )
    assert descendant == font + 2
    kids = []
    for page_lines in pages:
        ops = ["BT", "/F1 10.5 Tf", "14 TL", "56 800 Td"]
        for line in page_lines:
            ops.append(f"<{_utf16_hex(line)}> Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("ascii")
        content = add(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent " + str(pages_obj).encode() + b" 0 R /MediaBox [0 0 595 842] "
                b"/Resources << /Font << /F1 " + str(font).encode() + b" 0 R >> >> "
                b"/Contents " + str(content).encode() + b" 0 R >>"
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages " + str(pages_obj).encode() + b" 0 R >>"
    objects[pages_obj - 1] = (
        b"<< /Type /Pages /Kids [" + b" ".join(str(k).encode() + b" 0 R" for k in kids) + b"] /Count "
        + str(len(kids)).encode() + b" >>"
    )
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += str(number).encode() + b" 0 obj\n" + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += b"trailer\n<< /Size " + str(len(objects) + 1).encode() + b" /Root " + str(catalog).encode() + b" 0 R >>\n"
    out += b"startxref\n" + str(xref).encode() + b"\n%%EOF\n"
    return bytes(out)


# Shaped like the 研究テーマ annex of an ATLA 安全保障技術研究推進制度 call (公募要領): a title block,
# a contents list that names the themes once, then each numbered theme with its description.
ATLA_THEME_LINES = [
    "令和7年度 安全保障技術研究推進制度",
    "公募要領 別紙1 研究テーマ",
    "目次",
    "研究テーマ1 極限環境下で動作する高出力半導体デバイスに関する基礎研究 …… 2",
    "研究テーマ2 量子技術を用いた高感度磁気センシングに関する基礎研究 …… 3",
    "研究テーマ(3) 水中音響通信の高速化に関する基礎研究 …… 4",
    "- 1 -",
    "研究テーマ1 極限環境下で動作する高出力半導体デバイスに関する基礎研究",
    "(概要)",
    "高温、高放射線などの極限環境において安定に動作する窒化ガリウムや酸化ガリウム等の",
    "ワイドギャップ半導体デバイスに関する基礎研究を募集する。",
    "耐熱性、耐放射線性を飛躍的に高める新たな材料、構造、評価手法に関する提案を期待する。",
    "研究テーマ2 量子技術を用いた高感度磁気センシングに関する基礎研究",
    "(概要)",
    "ダイヤモンドNVセンター等の量子技術を用いて、常温で動作する小型かつ高感度な",
    "磁気センサの実現につながる基礎研究を募集する。",
    "- 2 -",
    "研究テーマ(3)",
    "水中音響通信の高速化に関する基礎研究",
    "(概要)",
    "海中における音響通信の伝送速度と信頼性を大幅に向上させる変復調方式、",
    "信号処理、トランスデューサ技術に関する基礎研究を募集する。",
]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "atla_themes.pdf")
    target.write_bytes(build_pdf(ATLA_THEME_LINES))
    print(f"wrote {target} ({target.stat().st_size} bytes)")
