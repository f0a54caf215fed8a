"""The ranking's weights: one frozen object, so a ranking is reproducible from its settings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RankWeights:
    """Chosen for the task's shape (a long need with a telling title -> a short technology abstract).

    Measured on the sbir-bench dev split (bench/ranking_quality.py, strict nDCG@10); the figures are in the
    README. What carried: score fusion over RRF; the need's title as a second, focused query; the document's
    own title as a field of its own (dense and BM25), because a title is the author's focused statement of
    what the work is; and weighting the need's BM25 query by how rare each term is among the needs
    (solicitation boilerplate such as "phase", "prototype", "develop" says nothing about a need). What gave
    nothing and was left out: pseudo-relevance feedback, position decay of need passages, the mean over need
    passages beside the best pair, the need's title alone as a BM25 query, word bigrams, z-score normalisation.

    A channel's weight is the field named like the channel (`index/ranking/channels.py`).
    """

    depth: int = 200  # candidates per channel
    # A free-text query's channels are scaled as in its unfiltered list of this many candidates (a need's: as in
    # its unfiltered list at `depth`), whatever the filters or the page size: a score never depends on them.
    search_scale_depth: int = 500
    # A free-text ranking re-scores (concepts, recency, kind, the absolute ceiling) the best `limit` + this many
    # of its fused candidates (at least 60; 60 for a page of 20 either way); None: 3 x `limit`, as a need's
    # ranking does. The Library asks for 100 hits (its facets count them): 140 re-scored, not 300, each a
    # document's payload and BM25 vector read. On the free-text quality bench (1,528 searches, dev split) 40
    # moved 1 page (one document of 20, no score of the bench) and 4 searches' facets; 20 moved 23 facets.
    search_rescore_margin: int | None = 40
    fusion: str = "score"  # "score" (per-channel min-max scaled scores) or "rrf" (reciprocal rank fusion)
    rrf_k: float = 60.0
    dense: float = 1.0  # need passages -> document passages, best pair
    sparse: float = 1.5  # need BM25 (weighted by rarity among needs, title terms boosted) -> documents
    title_dense: float = 0.5  # need title alone -> document passages
    doc_title: float = 0.5  # need passages -> document titles, best pair
    title_title: float = 0.25  # need title -> document titles
    title_lexical: float = 0.5  # need BM25 (weighted by rarity among needs) -> document titles
    # Need title (or query) -> every document's best sentence, in a language-agnostic space (nlp/multilingual.py,
    # USE-multilingual): a Japanese document meets an English need by meaning, not only through its dictionary
    # rendering, and the other way round. Not an added weight: for the (query, document) pairs of
    # `multilingual_pairs` it takes this much of the dense channels' weight (2.25 in all, in proportion), the
    # total unchanged, so a document gains by meaning only, never by its language, and every other pair (an
    # English need and an English document) ranks exactly as without the channel. Measured in the README
    # ("The language-agnostic channel"): 0.75 of the dense channels' weight did best across the directions
    # (0.375: EN->JA within 0.002, less JA->EN and JA->JA); taking it from every channel (the BM25 ones too)
    # lost EN->JA.
    multilingual: float = 0.75
    multilingual_pairs: str = "cross"  # "cross": a Japanese and an English side; "japanese": either side Japanese
    multilingual_from: str = "dense"  # whose weight it takes: "dense" (the dense channels'), "all" (every channel's)
    # How a cross-lingual pair's similarity is read (index/ranking/calibration.py): "tail" maps it onto the query
    # language's own similarities (a line through the upper tails of the two, measured on the corpus), "off" takes
    # it as it is. Measured in the README ("Cross-lingual calibration"): EN->JA full need text 0.94 -> 0.95 MRR
    # ratio on all 7,795 documents, every other direction and the crowd unchanged; EN->JA titles stay at 0.87.
    multilingual_calibration: str = "tail"
    need_idf: float = 0.5  # exponent of the needs-collection IDF weighting of a need's BM25 query (0 = off)
    need_idf_min_needs: int = 20  # fewer needs than this: too few to tell boilerplate from subject
    title_boost: float = 1.0  # a need's title terms weigh (1 + this) in its BM25 query
    # Hubness correction (CSLS, Conneau et al. 2018): a document's dense scores for a need are lowered by this
    # times its mean similarity to its `hubness_k` nearest other needs, and its BM25 score (scaled by the
    # need's best) by this times its mean scaled BM25 score for its `hubness_k` best other needs. A document
    # close to every need (generic programme prose) is a hub of the space, not a match. Needs only, and only
    # with enough needs to tell (need_idf_min_needs). 0.5 is CSLS's own weight (2 cos - r_doc - r_need).
    hubness: float = 0.5
    hubness_k: int = 10
    # The hubness weight for a document written in another language (ja vs en) than the need (None:
    # `hubness`). Met only through its dictionary rendering, a Japanese document looked like a hub to English
    # needs and 0.25 served it better; since English needs also query a Japanese document's own words
    # (nlp/reverse.py) the same weight serves both, and a lower one lets Japanese documents crowd English
    # needs' top 10 (cross-lingual bench, README).
    hubness_other_language: float | None = None
    # Full concept overlap adds this much (the fused score is scaled to [0, 1]). Small on purpose: on the dev
    # split any concept weight lowered nDCG (the taxonomy is coarser than a topic), so overlap mostly explains
    # a match and breaks near-ties; see the README.
    concept: float = 0.01
    # The concept weight for a document in the other language (ja vs en) than the need (None: `concept`; free
    # text always takes `concept`: measured on needs only, it let an English one-word search's Japanese
    # documents crowd its first page).
    # Such a document meets the query's words only through dictionary renderings, which blur both channels,
    # while the taxonomy's concepts are the same in both languages (cross-lingual bench, README: EN->JA
    # titles 0.86 -> 0.92 MRR ratio at 0.15; taking the excess from the fused share instead lost it all).
    # The score's scale stays that of same-language pairs: the rare excess is clipped, as with feedback.
    concept_other_language: float | None = 0.15
    recency: float = 0.05
    recency_half_life_years: float = 4.0
    kind: dict[str, float] = field(default_factory=lambda: {"research": 0.0, "startup": 0.02})
    org_decay: float = 0.5
    # Relevance feedback (index/ranking/feedback.py): Rocchio's beta and gamma, SMART's classic values (alpha = 1).
    feedback_relevant: float = 0.75
    feedback_not_relevant: float = 0.15

    @property
    def score_scale(self) -> float:
        """The most fused + concept + recency + kind can reach: dividing by it puts the score in [0, 1]."""
        return 1.0 + self.concept + self.recency + max(self.kind.values(), default=0.0)
