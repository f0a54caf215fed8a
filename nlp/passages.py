"""Split title + text into passages that fit the embedder, sentence-aware, with overlap.

Offsets are characters in the analysed text (`analysed_text(title, text)`); the union of the passages'
spans is the whole text, so nothing is dropped. A sentence longer than the budget is cut at word (or, for
unspaced scripts, character) boundaries found by bisection on the model's own token counts. Texts that
would need more than `max_passages` passages are recorded as capped (the caller keeps the note), so a
1 MB text costs bounded time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nlp.base import Embedder
from nlp.cache import passage_hash
from domain.models import Passage

# Sentence ends: Latin punctuation followed by space, Japanese 。！？ (no space needed), or line breaks.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=\S)|(?<=[。！？!?])(?=\S)|\n+")
DEFAULT_MAX_PASSAGES = 256


def analysed_text(title: str, text: str) -> str:
    """What nlp analyses and embeds: the title, a newline, the text."""
    return f"{title}\n{text}" if title and text else (title or text)


@dataclass
class PassageSplit:
    passages: list[Passage]
    capped: bool = False
    covered_chars: int = 0  # when capped: the passages cover [0, covered_chars)
    notes: list[str] = field(default_factory=list)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Contiguous spans (each sentence keeps its trailing white space), covering the whole text."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        if end > start:
            spans.append((start, end))
            start = end
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _cut_points(text: str, start: int, end: int) -> list[int]:
    """Candidate cut offsets inside [start, end): after white space, else every character."""
    points = [m.end() for m in re.finditer(r"\s+", text[start:end]) if 0 < m.end() < end - start]
    return [start + p for p in points] or list(range(start + 1, end))


def _split_long(text: str, start: int, end: int, budget: int, embedder: Embedder) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces that fit `budget` tokens (bisection on token counts)."""
    pieces: list[tuple[int, int]] = []
    while start < end:
        if embedder.count_tokens([text[start:end]])[0] <= budget:
            pieces.append((start, end))
            break
        points = [p for p in _cut_points(text, start, end) if p > start]
        lo, hi, best = 0, len(points) - 1, None
        while lo <= hi:
            mid = (lo + hi) // 2
            if embedder.count_tokens([text[start : points[mid]]])[0] <= budget:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        cut = points[best] if best is not None else start + 1  # one character always fits
        pieces.append((start, cut))
        start = cut
    return pieces


def split_passages(
    text: str,
    embedder: Embedder,
    overlap_tokens: int = 32,
    max_tokens: int | None = None,
    max_passages: int = DEFAULT_MAX_PASSAGES,
) -> PassageSplit:
    """Greedy packing of sentences into passages of at most `max_tokens` model tokens; consecutive
    passages share up to `overlap_tokens` tokens of whole sentences (or sentence pieces)."""
    budget = max(8, int(max_tokens or embedder.max_tokens))
    overlap_tokens = min(overlap_tokens, budget // 4)
    if not text:
        return PassageSplit(passages=[])
    # Most abstracts fit in one passage: one count, no sentence splitting.
    if len(text) <= budget * 12 and embedder.count_tokens([text])[0] <= budget:
        return PassageSplit(passages=[Passage(index=0, start=0, end=len(text), text=text, hash=passage_hash(text))])
    units: list[tuple[int, int]] = []
    spans = sentence_spans(text)
    # Bound the work on huge texts: only look at as much text as max_passages could hold (generously).
    char_limit = None
    if len(text) > max_passages * budget * 8:
        char_limit = max_passages * budget * 8
    counted_spans = [s for s in spans if char_limit is None or s[0] < char_limit]
    counts = embedder.count_tokens([text[a:b] for a, b in counted_spans])
    unit_tokens: list[int] = []
    for (a, b), n in zip(counted_spans, counts):
        if n <= budget:
            units.append((a, b))
            unit_tokens.append(n)
        else:
            for piece in _split_long(text, a, b, budget, embedder):
                units.append(piece)
                unit_tokens.append(embedder.count_tokens([text[piece[0] : piece[1]]])[0])
    # Token counts of pieces are not additive across joins; a small safety margin keeps joins in budget.
    margin = 2
    ranges: list[tuple[int, int]] = []  # (first unit, last unit) inclusive
    i = 0
    capped = False
    while i < len(units):
        if len(ranges) >= max_passages:
            capped = True
            break
        j, total = i, unit_tokens[i]
        while j + 1 < len(units) and total + unit_tokens[j + 1] + margin <= budget:
            j += 1
            total += unit_tokens[j] + margin
        ranges.append((i, j))
        if j + 1 >= len(units):
            break
        # Next passage starts with trailing units of this one, up to overlap_tokens, never at i (progress).
        k, carried = j + 1, 0
        while k - 1 > i and carried + unit_tokens[k - 1] <= overlap_tokens:
            k -= 1
            carried += unit_tokens[k]
        i = k
    if char_limit is not None and not capped and units and units[-1][1] < len(text):
        capped = True
    passages = []
    for index, (a, b) in enumerate(ranges):
        start, end = units[a][0], units[b][1]
        chunk = text[start:end]
        passages.append(Passage(index=index, start=start, end=end, text=chunk, hash=passage_hash(chunk)))
    covered = passages[-1].end if passages else 0
    notes = []
    if capped:
        notes.append(
            f"text of {len(text)} characters needs more than {max_passages} passages; "
            f"passages cover the first {covered} characters"
        )
    return PassageSplit(passages=passages, capped=capped, covered_chars=covered, notes=notes)
