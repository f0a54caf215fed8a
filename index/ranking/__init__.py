"""Needs -> technologies: hybrid retrieval, explainable re-scoring, organizations.

One ranking, in the order it runs (each step its own module):

1. `query`: what is asked. A need: its passage vectors, its stored BM25 vector weighted by each term's rarity
   among the needs (title terms boosted), its title embedded alone. Free text: its passages and BM25 vector.
2. `channels`: each channel searches one field with one part of the query and returns one result list
   (every need passage against the document passages, a document scoring its best pair; the need's BM25
   query against the documents; the need's title against the passages; need passages, need title and BM25
   query against the documents' titles; the need's title, or the query, against every document's best
   sentence in a language-agnostic space, so Japanese and English meet by meaning). For a need, the dense and BM25 channels are corrected for hubness
   (`hubness`, CSLS): a document's mean score for its nearest other needs is partly subtracted, so prose that
   resembles every need stops crowding them.
3. `fusion` (pure functions over the lists, with `normalization`): each channel's scores min-max scaled over
   the query's unfiltered list at a fixed depth (so a filter or a page size never changes a score), then a
   weighted sum (or weighted reciprocal rank fusion), split into the breakdown's parts.
4. `rescore`: fused score + shared taxonomy concepts (ancestors included) + recency + source kind, divided by
   the most it can reach (`RankWeights.score_scale`): the match strength, a score in [0, 1] whose
   `ScoreBreakdown` parts add up to it; for free text held under a ceiling set by absolute evidence (the
   best passage pair's cosine, the share of the query's words held). Relevance feedback (Rocchio on centred
   similarities, `feedback`) moves the order only; a document judged not relevant goes below every other.
5. `evidence`: the need passage and the document passage of the best dense pair, for the returned matches.
6. `organizations`: each organization's matched documents, best first, with decaying weights, combined as a
   noisy-OR, so a firm with several strong documents ranks above one lucky abstract.

`stats` keeps what the ranking knows of the corpus as a whole until the corpus changes; `Ranker` (`ranker`)
is the front that composes the steps. Needs never match needs.
"""

from index.ranking.channels import CHANNELS, Channel, ChannelHit, Mode
from index.ranking.feedback import Feedback
from index.ranking.organizations import organization_score
from index.ranking.query import QueryInput
from index.ranking.ranker import RANK_FIELDS, Ranker
from index.ranking.rescore import RankedDocument
from index.ranking.stats import CorpusStatistics
from index.ranking.weights import RankWeights

__all__ = ["CHANNELS", "RANK_FIELDS", "Channel", "ChannelHit", "CorpusStatistics", "Feedback", "Mode",
           "QueryInput", "RankWeights", "RankedDocument", "Ranker", "organization_score"]
