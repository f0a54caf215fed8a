"""One result per technology: versions of one award or one announcement fold into one result, at query time."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from domain.models import DocKind
from index.grouping import (
    Member, group_members, lazy_cosine_lookup, phase_of, title_key, version_label, versions_of,
)
from index.ranking import Ranker
from index.store import Index
from index.suppliers import KnownSuppliers
from service.index_library import IndexLibrary
from tests.index.conftest import make_doc


def _member(doc_id, title, orgs=("Acme Inc.",), year=2019, score=0.5):
    return Member(doc_id, doc_id, title, list(orgs), datetime(year, 1, 1, tzinfo=timezone.utc), score)


def test_programme_words_do_not_make_two_technologies():
    assert title_key("SBIR Phase II: Compact LIDAR, Rev.") == title_key("compact lidar rev (Phase I)")
    assert phase_of("Compact lidar - Phase II") == "Phase II"
    assert phase_of("Compact lidar", "Air Force Phase I award, 2017. We build") == "Phase I"
    assert phase_of("フェーズ2 小型ライダー") == "Phase II"
    assert version_label("Compact lidar", datetime(2021, 5, 1, tzinfo=timezone.utc), source="arxiv") == "arXiv 2021"


def test_same_organization_and_title_group_and_list_their_versions_oldest_first():
    groups = group_members([
        _member("p2", "Compact LIDAR (Phase II)", year=2019, score=0.9),
        _member("other", "Radar absorbing coating", score=0.8),
        _member("p1", "Compact LIDAR (Phase I)", year=2017, score=0.7),
        _member("rival", "Compact LIDAR (Phase I)", orgs=("Other Corp",), score=0.6),
    ])
    assert [[m.doc_id for m in g] for g in groups] == [["p2", "p1"], ["other"], ["rival"]]
    assert [v.label for v in versions_of(groups[0])] == ["Phase I 2017", "Phase II 2019"]
    assert versions_of(groups[1]) == []


def test_without_organizations_only_near_identical_text_groups():
    a, b = _member("a", "Swarm planning", orgs=()), _member("b", "Swarm planning", orgs=())
    assert len(group_members([a, b], lambda x, y: 0.99)) == 1
    assert len(group_members([a, b], lambda x, y: 0.40)) == 2
    c = _member("c", "Swarm planning for drones, revisited", orgs=("Acme",))
    assert len(group_members([a, c], lambda x, y: 0.99)) == 2  # one named firm, one unnamed: not known to be one


@pytest.fixture
def library(tmp_path, enricher):
    docs = [
        make_doc("n1", "Compact lidar for small drones", "We need a compact lidar for small drones that map "
                 "buildings. Low power and light weight matter.", kind="need", source="atla"),
        make_doc("p1", "Compact lidar for drones (Phase I)", "A compact lidar for small drones, light weight, "
                 "low power; Phase I shows feasibility.", source="sbir", year=2017, orgs=("Acme Optics Inc.",)),
        make_doc("p2", "Compact lidar for drones (Phase II)", "A compact lidar for small drones mapping "
                 "buildings; Phase II builds the prototype.", source="sbir", year=2019, orgs=("ACME OPTICS, INC.",)),
        make_doc("x", "Lidar mapping of buildings from drones", "Small drones map buildings with a light lidar.",
                 year=2022, orgs=("Tohoku University",)),
    ]
    enriched, _ = enricher.enrich(docs)
    from domain.settings import IndexSettings

    index = Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=enricher.embedder.dim)
    index.upsert(enriched)
    lib = IndexLibrary(index, enricher, Ranker(index, enricher, KnownSuppliers()))
    yield lib, {d.source_id: d.id for d in docs}
    lib.close()


def test_need_matches_and_search_show_one_result_per_technology(library):
    lib, ids = library
    result = lib.match(ids["n1"], limit=10)
    shown = [m.doc_id for m in result.matches]
    assert len(shown) == 2 and ids["x"] in shown
    award = next(m for m in result.matches if m.doc_id != ids["x"])
    assert [v.label for v in award.versions] == ["Phase I 2017", "Phase II 2019"]
    assert {v.doc_id for v in award.versions} == {ids["p1"], ids["p2"]}
    assert [m.rank for m in result.matches] == [1, 2]
    assert all(lib.document(v.doc_id) is not None for v in award.versions)  # nothing stored is lost

    hits = lib.search("compact lidar drones", limit=10).hits
    assert sum(1 for h in hits if h.kind != DocKind.need and h.versions) == 1
    assert not {ids["p1"], ids["p2"]} <= {h.doc_id for h in hits}


def test_the_cli_lists_the_versions(library):
    from typer.testing import CliRunner

    from scout.cli import app
    from scout.commands._library import use_library

    lib, ids = library
    with use_library(lib):
        out = CliRunner().invoke(app, ["match", ids["n1"][:8]], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert out.exit_code == 0, out.output
    assert "versions: Phase I 2017, Phase II 2019" in out.output


def test_versions_that_would_read_alike_show_their_dates():
    a = _member("a", "Swarm planning", year=2025)
    b = _member("b", "Swarm planning", year=2025)
    b.published = b.published.replace(month=3, day=7)
    a.source = b.source = "feeds"
    assert [v.label for v in versions_of([a, b])] == ["news feeds 2025-01-01", "news feeds 2025-03-07"]


def _eager(similarity):
    """`group_members` as it was: the similarity of every pair compared, used or not."""
    def group(members):
        from index.grouping import same_technology

        groups = []
        for member in members:
            for g in groups:
                if same_technology(g[0], member, similarity(g[0].doc_id, member.doc_id)):
                    g.append(member)
                    break
            else:
                groups.append([member])
        return groups
    return group


def test_the_similarity_is_asked_only_where_it_decides_and_the_groups_are_the_same():
    import random

    rng = random.Random(28)
    asked, compared = [], []
    titles = ["Compact lidar", "Compact lidar Phase II", "Compact lidar for drones", "Radar absorber",
              "SBIR Radar absorber", "Battery cell", "Phase II", ""]
    orgs = [(), ("Acme Inc.",), ("Beta LLC",), ("Acme Inc.", "Beta LLC"), ("Gamma Corp",), ("Beta LLC", "Gamma Corp")]
    for trial in range(300):
        members = [_member(f"d{i}", rng.choice(titles), rng.choice(orgs)) for i in range(rng.randint(2, 40))]
        sims = {}

        def similarity(a, b):
            return sims.setdefault(frozenset((a, b)), rng.choice([None, 0.5, 0.99]))

        def counted(calls):
            return lambda a, b: calls.append((a, b)) or similarity(a, b)

        lazy = [[m.doc_id for m in g] for g in group_members(members, counted(asked))]
        eager = [[m.doc_id for m in g] for g in _eager(counted(compared))(members)]
        assert lazy == eager, trial
    assert 0 < len(asked) < len(compared) / 2


def test_the_library_reads_no_vectors_when_no_pair_needs_them(tmp_path, enricher):
    docs = [make_doc(f"x{i}", f"Sensor {i} of its own", f"A distinct sensor design number {i}.", orgs=(f"Firm {i}",))
            for i in range(6)]
    enriched, _ = enricher.enrich(docs)
    from domain.settings import IndexSettings

    index = Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=enricher.embedder.dim)
    index.upsert(enriched)
    reads = []
    passage_vectors = index.passage_vectors
    index.passage_vectors = lambda **kw: reads.append(kw) or passage_vectors(**kw)
    with IndexLibrary(index, enricher, Ranker(index, enricher, KnownSuppliers())) as lib:
        assert len(lib.search("sensor design").hits) == 6
    assert reads == []  # six firms, six titles: no pair's grouping depends on their texts


def test_the_library_reads_the_vectors_of_the_asked_pairs_documents_only(tmp_path, enricher):
    # a search groups its best 100 hits: one pair whose grouping depends on the texts reads that pair's
    # passages, not the hundred's
    docs = [make_doc(f"x{i}", f"Sensor {i} of its own", f"A distinct sensor design number {i}.", orgs=(f"Firm {i}",))
            for i in range(6)]
    docs += [make_doc("y1", "Acoustic modem for divers", "A sensor design for acoustic links under water.",
                      orgs=("Deep Blue Acoustics Inc.",)),
             make_doc("y2", "Hull coating against fouling", "A sensor design that keeps hulls clean.",
                      orgs=("Deep Blue Acoustics Inc.",))]
    enriched, _ = enricher.enrich(docs)
    from domain.settings import IndexSettings

    index = Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=enricher.embedder.dim)
    index.upsert(enriched)
    reads = []
    passage_vectors = index.passage_vectors
    index.passage_vectors = lambda **kw: reads.append(sorted(kw["doc_ids"])) or passage_vectors(**kw)
    with IndexLibrary(index, enricher, Ranker(index, enricher, KnownSuppliers())) as lib:
        found = lib.search("sensor design")
    assert sum(1 + len(h.versions[1:]) for h in found.hits) == 8
    # one firm, two titles apart: their texts decide; nobody else's are read
    assert reads == [sorted(d.id for d in docs[-2:])]


def test_a_lazy_lookup_reads_each_document_once_and_only_those_asked():
    loads = []
    vectors = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0]), "c": np.array([1.0, 0.0])}
    similarity = lazy_cosine_lookup(lambda ids: loads.append(list(ids)) or {d: vectors[d] for d in ids if d != "z"})
    assert similarity("a", "c") == pytest.approx(1.0)
    assert similarity("a", "b") == pytest.approx(0.0)
    assert similarity("c", "z") is None and similarity("z", "b") is None  # a document without passages
    assert loads == [["a", "c"], ["b"], ["z"]]
