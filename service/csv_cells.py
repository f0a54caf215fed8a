"""Spreadsheet-safe CSV cells, for every CSV dualscout writes (the report's attachment, `scout export`).

Crawled text must not become a formula when the file is opened in Excel or LibreOffice (CSV injection): a
cell starting with = + - @ or a tab/carriage return gets a leading apostrophe, which spreadsheets hide. Their
fullwidth forms (＝ ＋ － ＠, which Japanese input methods type and spreadsheets read as the ASCII ones) too.
Numbers stay numbers, rounded for reading.
"""

from __future__ import annotations

import unicodedata
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DECIMALS = 4
BOM = "\ufeff"  # UTF-8 with a BOM: Excel (Japanese Windows included) then reads Japanese text correctly


def csv_cell(value: Any) -> Any:
    """`value` as a safe cell: text neutralised, floats rounded, other values unchanged."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else value
    if isinstance(value, float):
        return f"{value:.{DECIMALS}f}"
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if unicodedata.normalize("NFKC", text[:1]) in FORMULA_STARTS else text
