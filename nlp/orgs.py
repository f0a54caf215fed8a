"""One key per organization: legal forms stripped, NFKC, case-folded, punctuation and spaces removed.

"株式会社アクセルスペース", "アクセルスペース株式会社" and "(株)アクセルスペース" share a key, as do
"Axelspace Inc." and "AXELSPACE, INC.".
"""

from __future__ import annotations

import re
import unicodedata

# Japanese legal forms, prefix or suffix; (株)/(有) are the abbreviated forms (NFKC turns （株） and ㈱ into (株)).
_JA_LEGAL = re.compile(
    r"株式会社|有限会社|合同会社|合資会社|合名会社|一般社団法人|公益社団法人|一般財団法人|公益財団法人|"
    r"国立研究開発法人|独立行政法人|国立大学法人|公立大学法人|学校法人|\((?:株|有|同)\)")
# English legal forms, only at the end of the name (repeatedly: "Foo Co., Ltd.").
_EN_LEGAL = re.compile(
    r"(?:[\s,]+(?:inc|incorporated|corp|corporation|co|company|ltd|limited|llc|l\.l\.c|llp|plc|gmbh|ag|s\.a|sa|k\.k|kk|pte)\.?)+\s*$",
    re.IGNORECASE,
)
_PUNCT_SPACE = re.compile(r"[\W_]+", re.UNICODE)


def normalize_org(name: str) -> str:
    """The normalized key of an organization name; empty when nothing but a legal form is left."""
    text = unicodedata.normalize("NFKC", name).strip()
    text = _JA_LEGAL.sub(" ", text)
    text = re.sub(r"^\s*the\s+", "", text, flags=re.IGNORECASE)
    previous = None
    while previous != text:
        previous = text
        text = _EN_LEGAL.sub("", text.strip(" ,."))
    return _PUNCT_SPACE.sub("", text.casefold())


def display_name(name: str) -> str:
    """A tidy display form: NFKC with collapsed white space (legal form kept, as people write it)."""
    return " ".join(unicodedata.normalize("NFKC", name).split())
