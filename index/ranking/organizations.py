"""Organizations of a ranking: each organization's matched documents, best first, with decaying weights,
combined as a noisy-OR, so a firm with several strong documents ranks above one lucky abstract."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable, Sequence

from domain.models import Match, OrgMatch
from domain.orgs import answering_organizations
from index.suppliers import KnownSuppliers, normalize_org


def organization_score(scores: Sequence[float], decay: float) -> float:
    """An organization's score from its documents' scores for one need: best first, each weighing decay^i,
    combined as a noisy-OR, 1 - prod(1 - decay^i * score_i). In [0, 1] like a match's score; one document
    scores its own score, and every further answering document raises it."""
    ordered = sorted((min(1.0, max(0.0, s)) for s in scores), reverse=True)
    return 1.0 - math.prod(1.0 - s * decay**i for i, s in enumerate(ordered))


def rank_organizations(matches: Sequence[Match], decay: float, known_suppliers: KnownSuppliers,
                       issuers: Iterable[str] = ()) -> list[OrgMatch]:
    """The organizations named by `matches` (one need's; `issuers`: that need's organizations, which are left
    out), best first (`organization_score`)."""
    issuers = list(issuers)
    per_org: dict[str, list[Match]] = defaultdict(list)
    names: dict[str, str] = {}
    for m in matches:
        for name in answering_organizations(m.organizations, issuers):
            key = normalize_org(name)
            if key:
                per_org[key].append(m)
                names.setdefault(key, name)
    out = []
    for key, ms in per_org.items():
        ms.sort(key=lambda m: -m.score)
        score = organization_score([m.score for m in ms], decay)
        out.append(OrgMatch(key=key, name=names[key], score=score, doc_ids=[m.doc_id for m in ms],
                            known_supplier=key in known_suppliers))
    out.sort(key=lambda o: -o.score)
    return out
