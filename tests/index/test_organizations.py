"""True organizations: a type from name and records, supplier status from evidence, issuers never entrants."""

from __future__ import annotations

import pytest

from domain.models import DocKind
from domain.settings import IndexSettings
from index.organizations import OrgType, alias_classes, award_evidence, bilingual_parts, organization_type
from index.ranking import Ranker
from index.store import Index
from index.suppliers import KnownSuppliers
from domain.orgs import normalize_org
from service.index_library import IndexLibrary
from tests.index.conftest import make_doc


@pytest.mark.parametrize("name, kind", [
    ("防衛装備庁", OrgType.government), ("Air Force Research Laboratory", OrgType.government),
    ("AFRL", OrgType.government), ("U.S. Army DEVCOM", OrgType.government),
    ("Tohoku University", OrgType.university), ("東北大学", OrgType.university),
    ("Tokyo Institute of Technology", OrgType.university),
    ("産業技術総合研究所", OrgType.institute), ("Fraunhofer IOSB", OrgType.institute),
    ("株式会社アクセルスペース", OrgType.company), ("DZYNE Technologies Incorporated", OrgType.company),
    ("Mystery", OrgType.unknown),
])
def test_type_from_the_name(name, kind):
    assert organization_type(name) == kind


def test_type_from_records_when_the_name_does_not_say():
    assert organization_type("Mystery", [DocKind.startup]) == OrgType.company
    assert organization_type("Mystery", [DocKind.research]) == OrgType.unknown


def test_award_records_are_evidence_and_ordinary_records_are_not():
    award = make_doc("a", "Compact lidar", "Air Force Phase II award, 2019. A compact lidar.", kind="startup",
                     source="feeds")
    assert "Phase II award" in award_evidence(award)
    assert award_evidence(make_doc("b", "Lidar", "A lidar paper.", source="sbir")) == "sbir award record"
    assert award_evidence(make_doc("c", "電波吸収材", "安全保障技術研究推進制度の委託研究。", source="kaken"))
    assert award_evidence(make_doc("d", "Lidar", "A lidar for cars.")) is None


def test_a_record_under_a_dod_topics_exact_title_is_an_award_to_it():
    """Issue 24: BLACK RIVER was a "new entrant" though its record carries the DoD topic's exact title and
    says "direct to Phase II program"."""
    from index.organizations import award_topics, organization_status

    topic = make_doc("t", "Mitigation of Small Unmanned Aircraft Systems (sUAS) Threats", "Develop a C-sUAS system.",
                     kind="need", source="sbir_topics")
    topics = award_topics([topic, make_doc("n", "Radar", "We need radar.", kind="need", source="sbir_topics")])
    assert list(topics) == ["mitigation of small unmanned aircraft systems suas threats"]  # "Radar" is too short
    record = make_doc("r", "MITIGATION OF SMALL UNMANNED AIRCRAFT SYSTEMS (sUAS) THREATS",
                      "A CUAS system that can detect and mitigate a wide variety of UASs.", kind="startup",
                      source="feeds", orgs=("BLACK RIVER SYSTEMS COMPANY INC",))
    assert "title of the SBIR topic" in award_evidence(record, topics)
    assert award_evidence(record) is None  # without the topics, nothing in it says so
    status = organization_status("BLACK RIVER SYSTEMS COMPANY INC", {"blackriversystems"}, [record], listed=False,
                                 topics=topics)
    assert status.known_supplier and not status.new_entrant
    need = make_doc("i", "Counter-sUAS", "We need one.", kind="need", source="sbir_topics")
    # the records as a stream, read once (the library scans them; none is kept): the same status as from a list
    for records in ([record, need], [need], [record]):
        as_list = organization_status("BLACK RIVER SYSTEMS COMPANY INC", {"blackriversystems"}, records,
                                      listed=False, topics=topics)
        assert organization_status("BLACK RIVER SYSTEMS COMPANY INC", {"blackriversystems"}, iter(records),
                                   listed=False, topics=topics) == as_list
        assert as_list.issuer == (need in records) and as_list.known_supplier == (record in records)
    phase2 = make_doc("p", "Open CUAS", "Under this direct to Phase II program, we propose to develop a CUAS.",
                      kind="startup", source="feeds")
    assert "direct to Phase II" in award_evidence(phase2)
    assert award_evidence(make_doc("q", "Drone defeat", "A drone defeat kit for police.", kind="startup",
                                   source="feeds"), topics) is None


def test_japanese_and_english_names_merge_where_a_record_writes_both():
    assert bilingual_parts("株式会社アクセルスペース (Axelspace Corporation)") == ("株式会社アクセルスペース",
                                                                                   "Axelspace Corporation")
    assert bilingual_parts("Tohoku University (Sendai)") is None  # both Latin: a place, not another name
    classes = alias_classes(["株式会社アクセルスペース（Axelspace Corporation）", "Other Inc."])
    assert {normalize_org("アクセルスペース株式会社"), normalize_org("AXELSPACE CORP.")} <= \
        classes[normalize_org("Axelspace Inc.")]
    assert normalize_org("Other Inc.") not in classes


@pytest.fixture
def library(tmp_path, enricher):
    docs = [
        make_doc("n1", "量子センシングによる航法", "量子センシングによる小型の磁気センサーが必要である。",
                 kind="need", source="atla", orgs=("防衛装備庁",)),
        make_doc("n2", "Quantum sensing for navigation", "We need quantum sensing magnetometers for navigation.",
                 kind="need", source="sbir_topics", orgs=("Air Force Research Laboratory",)),
        make_doc("a1", "Quantum magnetometer", "SBIR Phase II award to build a quantum sensing magnetometer for "
                 "navigation.", kind="startup", source="feeds", orgs=("Acme Quantum Inc.",)),
        make_doc("e1", "Rugged quantum sensing", "Our startup ships quantum sensing magnetometers for navigation.",
                 kind="startup", source="prtimes", orgs=("Newco Sensing LLC",)),
        make_doc("j1", "量子磁気センサー", "量子センシングの磁気センサーを開発した。", kind="startup",
                 source="prtimes", orgs=("株式会社ニューコ（Newco Sensing LLC）",)),
        make_doc("u1", "Magnetometry with NV centers", "Quantum sensing magnetometry for navigation.",
                 orgs=("Tohoku University", "Air Force Research Laboratory")),
    ]
    enriched, _ = enricher.enrich(docs)
    index = Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=enricher.embedder.dim)
    index.upsert(enriched)
    lib = IndexLibrary(index, enricher, Ranker(index, enricher, KnownSuppliers(["Lockheed Martin"])))
    yield lib, {d.source_id: d.id for d in docs}
    lib.close()


def test_issuers_are_never_new_entrants_and_evidence_names_its_record(library):
    lib, ids = library
    atla = lib.organization("防衛装備庁")
    assert (atla.org_type, atla.issuer, atla.new_entrant) == ("government", True, False)
    afrl = lib.organization("Air Force Research Laboratory")
    assert afrl.issuer and not afrl.new_entrant

    acme = lib.organization("Acme Quantum Inc.")
    assert acme.known_supplier and not acme.new_entrant and not acme.listed
    assert [e.doc_id for e in acme.evidence] == [ids["a1"]] and "Phase II award" in acme.evidence[0].reason

    newco = lib.organization("Newco Sensing")
    assert newco.new_entrant and not newco.known_supplier and newco.org_type == "company"
    assert {d.doc_id for d in newco.documents} == {ids["e1"], ids["j1"]}  # 株式会社ニューコ is the same firm
    assert lib.organization("株式会社ニューコ").key == newco.key or \
        {d.doc_id for d in lib.organization("株式会社ニューコ").documents} == {ids["e1"], ids["j1"]}

    tohoku = lib.organization("Tohoku University")
    assert tohoku.org_type == "university" and not tohoku.new_entrant


def test_need_pages_carry_the_same_status(library):
    lib, ids = library
    orgs = {o.name: o for o in lib.match(ids["n2"], limit=10).organizations}
    assert orgs["Acme Quantum Inc."].known_supplier and not orgs["Acme Quantum Inc."].new_entrant
    assert orgs["Newco Sensing LLC"].new_entrant
    assert "Air Force Research Laboratory" not in orgs  # it issued n2: no answer to its own need
    afrl = {o.name: o for o in lib.match(ids["n1"], limit=10).organizations}["Air Force Research Laboratory"]
    assert afrl.issuer and not afrl.new_entrant  # on another issuer's need it is a row, marked as an issuer


def test_one_firm_under_two_names_is_one_row_on_the_need_page(library):
    lib, ids = library
    orgs = lib.match(ids["n1"], limit=10).organizations
    newco = [o for o in orgs if {ids["e1"], ids["j1"]} & set(o.doc_ids)]
    assert len(newco) == 1 and {ids["e1"], ids["j1"]} <= set(newco[0].doc_ids)


def test_an_organization_page_reads_each_needs_matches_from_the_ledger(library, tmp_path, monkeypatch):
    """After a match run, an organization's needs come from the ledger (as a need page's organization rows
    score them), not from ranking every need again; a need the ledger has not seen is ranked."""
    from index.ledger import Ledger
    from index.matching import match_all_needs

    lib, ids = library
    live = lib.organization("Newco Sensing").needs  # no ledger: every need ranked
    assert live and all(set(o.doc_ids) <= {ids["e1"], ids["j1"]} for o in live)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    match_all_needs(lib.ranker, lib.index, ledger)
    lib.ledger_path = ledger.path

    def no_ranking(*args, **kwargs):
        raise AssertionError("ranked a need the ledger holds")

    with monkeypatch.context() as m:
        m.setattr(lib.ranker, "matches", no_ranking)
        stored = lib.organization("Newco Sensing").needs
    assert [(o.key, o.doc_ids) for o in stored] == [(o.key, o.doc_ids) for o in live]
    assert [o.score for o in stored] == pytest.approx([o.score for o in live])
    # a need added after the run: ranked for the page (the others still read from the ledger)
    extra = make_doc("n3", "Magnetometers for navigation", "We need quantum sensing magnetometers.", kind="need")
    lib.index.upsert(lib.enricher.enrich([extra])[0])
    ranked: list[str] = []
    real = lib.ranker.matches

    def counted(need_id, *args, **kwargs):
        ranked.append(need_id)
        return real(need_id, *args, **kwargs)

    monkeypatch.setattr(lib.ranker, "matches", counted)
    assert extra.id in {o.key for o in lib.organization("Newco Sensing").needs} and ranked == [extra.id]


class _Judged:
    """A need's judgements as the library reads them (service.index_library.JudgementFeedback's two calls)."""

    def __init__(self) -> None:
        self.by_need: dict[str, dict[str, str]] = {}

    def __call__(self, need_id):
        from index.ranking.feedback import Feedback

        states = self.by_need.get(need_id, {})
        relevant = tuple(d for d, s in states.items() if s != "not_relevant")
        rejected = tuple(d for d, s in states.items() if s == "not_relevant")
        return Feedback(relevant, rejected) if states else None

    def states(self, need_id):
        return dict(self.by_need.get(need_id, {}))


def test_a_judgement_after_the_match_run_reads_the_same_on_the_need_document_and_organization_pages(
        library, tmp_path):
    """The document and organization pages read the ledger, which the last match run wrote before an analyst
    judged: a document judged not relevant since leaves the need's list on its own page and no longer counts for
    its organization there, as on the need page (and in the weekly report), not until the next match run."""
    from index.ledger import Ledger
    from index.matching import match_all_needs

    lib, ids = library
    need = ids["n2"]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    match_all_needs(lib.ranker, lib.index, ledger)
    lib.ledger_path = ledger.path
    judged = lib.feedback = _Judged()
    assert need in {o.key for o in lib.needs_answered(ids["e1"])}

    judged.by_need[need] = {ids["e1"]: "not_relevant"}
    assert need not in {o.key for o in lib.needs_answered(ids["e1"])}  # the document page
    newco = lib.organization("Newco Sensing")
    on_org_page = {o.key: o for o in newco.needs}
    # the firm's row on the need page (under its Japanese and English names, one row)
    [row] = [o for o in lib.match(need).organizations if {ids["e1"], ids["j1"]} & set(o.doc_ids)]
    assert ids["e1"] not in on_org_page[need].doc_ids
    assert on_org_page[need].doc_ids == row.doc_ids
    assert on_org_page[need].score == pytest.approx(row.score)

    judged.by_need[need] = {}  # undone: back as the run stored it
    assert need in {o.key for o in lib.needs_answered(ids["e1"])}


def test_one_depth_scores_a_needs_organizations_on_every_face(library, monkeypatch):
    """ORGANIZATION_DEPTH is the one depth: the need page's organization rows and a need the organization page
    ranks itself (no match run yet) both use it (bench/org_page.py sets it; a second name beside it, which the
    organization page read, had made that setting reach the need page only)."""
    import service.index_library as index_library

    lib, ids = library
    asked: list[int] = []
    real = lib.ranker.matches

    def recorded(need_id, *args, limit=20, **kwargs):
        asked.append(limit)
        return real(need_id, *args, limit=limit, **kwargs)

    monkeypatch.setattr(lib.ranker, "matches", recorded)
    monkeypatch.setattr(index_library, "ORGANIZATION_DEPTH", 3)
    lib.organization("Newco Sensing")
    assert asked and set(asked) == {3}


def test_a_document_judged_relevant_lists_its_need_though_the_run_ranked_it_lower(library, tmp_path):
    """An analyst shortlists a match below the best the match run stored (the need page pins it on top): the
    document's page lists that need, with the match's score, instead of "Not among any need's best matches"."""
    from index.ledger import Ledger
    from index.matching import match_all_needs

    lib, ids = library
    need = ids["n2"]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    match_all_needs(lib.ranker, lib.index, ledger, limit=1)  # the run stored each need's best match only
    lib.ledger_path = ledger.path
    judged = lib.feedback = _Judged()
    ranked = [m for m in lib.match(need, limit=10).matches]
    low = next(m for m in ranked[1:] if m.doc_id in (ids["e1"], ids["j1"], ids["u1"], ids["a1"]))
    assert need not in {o.key for o in lib.needs_answered(low.doc_id)}
    for state in ("shortlisted", "relevant"):
        judged.by_need[need] = {low.doc_id: state}
        [row] = [o for o in lib.needs_answered(low.doc_id) if o.key == need]
        assert row.doc_ids == [low.doc_id] and row.score == pytest.approx(low.score)  # a judgement moves no score
    judged.by_need[need] = {}
    assert need not in {o.key for o in lib.needs_answered(low.doc_id)}
