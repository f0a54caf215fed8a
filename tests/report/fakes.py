"""A deterministic Library (the Protocol the screens use) and a ledger history for the report tests.

Needs and documents are modelled on real ones (ATLA 研究開発ビジョン topics, SBIR/DIU/DIANA calls, J-STAGE and
press-release style records), in Japanese and English; one document carries an HTML/script payload to prove
that the report escapes crawled text.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from index.ledger import Ledger
from nlp.taxonomy import Taxonomy
from domain.models import (
    CrawlStats,
    DocKind,
    Document,
    Evidence,
    Match,
    ScoreBreakdown,
)
from tests.web.fakes import MemoryLibrary

# Friday of ISO week 2026-W47 (JST); the last report went out on Monday morning of that week.
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)
LAST_SENT = datetime(2026, 11, 16, 0, 0, tzinfo=timezone.utc)  # 09:00 JST, Monday 2026-W47
XSS_TITLE = "<script>alert('pwned')</script>Meta-Radome Inc. unveils tunable metasurface radome"
XSS_ORG = '<img src=x onerror="alert(1)"> Holdings'

TAXONOMY = Taxonomy.model_validate(
    {
        "areas": [
            {"id": "jp-quantum", "scheme": "jp", "en": "Quantum information science", "ja": "量子情報科学"},
            {"id": "jp-sensing", "scheme": "jp", "en": "Advanced sensing", "ja": "先端監視・測位・センサー技術"},
            {"id": "jp-materials", "scheme": "jp", "en": "Advanced materials science", "ja": "先端材料科学"},
            {"id": "jp-energy", "scheme": "jp", "en": "Advanced energy", "ja": "先進エネルギー"},
            {"id": "us-quantum", "scheme": "us", "en": "Quantum information", "ja": "量子情報"},
        ],
        "concepts": [
            {"id": "quantum-sensing", "en": "quantum sensing", "ja": "量子センシング",
             "synonyms_en": ["quantum sensor", "quantum magnetometer"], "synonyms_ja": ["量子センサ"],
             "areas": ["jp-quantum", "jp-sensing", "us-quantum"]},
            {"id": "atomic-clock", "en": "atomic clock", "ja": "原子時計", "areas": ["jp-sensing"]},
            {"id": "metamaterial", "en": "metamaterial", "ja": "メタマテリアル",
             "synonyms_en": ["metasurface"], "areas": ["jp-materials"]},
            {"id": "radar-absorbing-material", "en": "radar absorbing material", "ja": "電波吸収材",
             "synonyms_ja": ["電波吸収体"], "parent": "metamaterial"},
            {"id": "solid-state-battery", "en": "solid-state battery", "ja": "全固体電池", "areas": ["jp-energy"]},
        ],
    }
)  # fmt: skip


NEEDS_SEEN = datetime(2026, 9, 1, tzinfo=timezone.utc)  # the needs were crawled before every week of the tests


def _need(source: str, source_id: str, title: str, text: str, language: str) -> Document:
    return Document.make(kind=DocKind.need, source=source, source_id=source_id, url=f"https://example.org/{source}/{source_id}",
                         title=title, text=text, language=language, first_seen=NEEDS_SEEN)  # fmt: skip


NEED_QMAG = _need(
    "atla", "2026-R-03", "小型無人機搭載型の量子センサによる磁気異常検知技術",
    "小型無人機に搭載可能な高感度の量子センサを用い、水中の磁気異常を広域で検知する技術を求める。", "ja",
)  # fmt: skip
NEED_RAM = _need(
    "sbir", "AF263-0017", "Broadband Radar Absorbing Metamaterial Coatings for Small UAS",
    "Develop thin, lightweight radar absorbing coatings based on metamaterials covering 2-18 GHz.", "en",
)  # fmt: skip
NEED_PNT = _need(
    "diu", "PNT-2026-04", "Resilient timing for GPS-denied operations",
    "Seeking chip-scale atomic clocks and quantum sensors that hold time and position without GPS.", "en",
)  # fmt: skip
NEED_BATTERY = _need(
    "diana", "2026-energy-1", "Energy-dense batteries for dismounted soldiers",
    "Safe, energy-dense batteries that operate from -40 C to 60 C.", "en",
)  # fmt: skip
NEED_LASER = _need("atla", "2026-R-07", "高出力レーザーの熱管理技術", "高出力レーザー装置の小型・高効率な冷却技術を求める。", "ja")
NEEDS = [NEED_QMAG, NEED_RAM, NEED_PNT, NEED_BATTERY, NEED_LASER]


def _doc(kind: DocKind, source: str, source_id: str, title: str, text: str, orgs: list[str], language: str,
         url: str | None = None, published: datetime | None = None, concepts: tuple[str, ...] | list[str] = ()) -> Document:  # fmt: skip
    # concepts: what MemoryLibrary reads as the document's taxonomy concepts (its search's concept facet and filter)
    return Document.make(
        kind=kind, source=source, source_id=source_id, url=url or f"https://example.org/{source}/{source_id}",
        title=title, text=text, organizations=orgs, language=language, published=published,
        meta={"concepts": list(concepts)} if concepts else {},
    )  # fmt: skip


DOC_NV = _doc(
    DocKind.research, "jstage", "jstage-2026-1123", "ダイヤモンドNVセンターを用いた室温動作の高感度量子磁気センサ",
    "本研究では、ダイヤモンド中の窒素空孔中心を用いた量子センサにより、室温で1 pT/√Hzの磁場感度を実証した。"
    "センサヘッドは50 gまで小型化され、小型無人機への搭載が可能である。",
    ["東京工業大学", "産業技術総合研究所"], "ja", published=datetime(2026, 11, 2, tzinfo=timezone.utc),
    concepts=["quantum-sensing"],
)  # fmt: skip
DOC_QMAG_STARTUP = _doc(
    DocKind.startup, "prtimes", "pr-88231", "Q-Mag Labs raises seed round for drone-mounted quantum magnetometers",
    "Q-Mag Labs closed a 400M yen seed round. Its quantum magnetometer weighs 80 g and flies on small drones. "
    "Field trials with a maritime partner start in spring.",
    ["Q-Mag Labs", "Sakura Ventures"], "en",
)  # fmt: skip
DOC_META = _doc(
    DocKind.research, "arxiv", "2611.01234", "Ultra-thin metasurface absorber with 2-18 GHz bandwidth",
    "We present a 1.2 mm metasurface absorber with more than 90% absorption from 2 to 18 GHz. "
    "The design uses resistive ink on a flexible substrate and survives 500 bending cycles.",
    ["University of Tokyo"], "en", published=datetime(2026, 11, 10, tzinfo=timezone.utc),
    concepts=["metamaterial"],
)  # fmt: skip
DOC_XSS = _doc(
    DocKind.startup, "prtimes", "pr-90001", XSS_TITLE,
    "Meta-Radome's <b>tunable</b> metasurface radome cuts radar cross-section by 20 dB & more. "
    "Contact <a href=\"javascript:alert(2)\">us</a>.",
    [XSS_ORG], "en", url="javascript:alert('link')",
)  # fmt: skip
DOC_CLOCK = _doc(
    DocKind.research, "openalex", "W4400000001", "Chip-scale atomic clock holdover for GPS-denied navigation",
    "A chip-scale atomic clock kept time within 1 microsecond over 24 hours without GPS. "
    "Power draw was 120 mW.",
    ["National Institute of Standards and Technology"], "en", concepts=["atomic-clock"],
)  # fmt: skip
DOC_FERRITE = [
    _doc(DocKind.research, "jstage", f"jstage-ram-{i}", f"フェライト系電波吸収体の広帯域化 第{i}報",
         f"フェライト粒子の配合を最適化し、{8 + i}GHz帯で反射減衰量20 dB以上の電波吸収体を得た。塗布型で無人機の外板にも適用できる。",
         ["株式会社TDKラボ" if i % 2 else "防衛装備庁"], "ja")
    for i in range(1, 6)
]  # fmt: skip
DOC_OLD = _doc(
    DocKind.research, "openalex", "W3900000002", "Optically pumped magnetometers for airborne surveys",
    "Optically pumped magnetometers reached 5 pT sensitivity on a fixed-wing drone.",
    ["Example University"], "en",
)  # fmt: skip
DOCUMENTS = {d.id: d for d in [*NEEDS, DOC_NV, DOC_QMAG_STARTUP, DOC_META, DOC_XSS, DOC_CLOCK, *DOC_FERRITE, DOC_OLD]}


class FakeLibrary(MemoryLibrary):
    """The Library Protocol over the fixed needs and documents above; a need's matches are this week's fixed
    ones (some needs have none: the report's quiet needs). Search and organizations come from MemoryLibrary."""

    def __init__(self) -> None:
        super().__init__(DOCUMENTS.values())

    def _match_all(self, need: Document) -> list[Match]:
        return sorted((m for m in this_week_matches() if m.need_id == need.id), key=lambda m: m.rank)


def make_match(need: Document, doc: Document, score: float, concepts: list[str], rank: int = 1) -> Match:
    """A match as the ranker would produce it: evidence is a span of the document's text."""
    return Match(
        need_id=need.id, doc_id=doc.id, rank=rank, score=score,
        breakdown=ScoreBreakdown(dense=score, total=score), shared_concepts=concepts,
        doc_evidence=Evidence(passage_index=0, start=0, end=len(doc.text), text=doc.text),
        title=doc.title, url=doc.url, kind=doc.kind, source=doc.source, organizations=doc.organizations,
        published=doc.published,
    )  # fmt: skip


def this_week_matches() -> list[Match]:
    ferrite = [make_match(NEED_RAM, d, 0.70 - 0.03 * i, ["radar-absorbing-material"], rank=3 + i)
               for i, d in enumerate(DOC_FERRITE)]  # fmt: skip
    return [
        make_match(NEED_QMAG, DOC_NV, 0.91, ["quantum-sensing"]),
        make_match(NEED_QMAG, DOC_QMAG_STARTUP, 0.84, ["quantum-sensing"], rank=2),
        make_match(NEED_QMAG, DOC_OLD, 0.66, ["quantum-sensing"], rank=3),  # seen weeks ago: not new
        make_match(NEED_RAM, DOC_META, 0.82, ["metamaterial", "radar-absorbing-material"]),
        make_match(NEED_RAM, DOC_XSS, 0.77, ["metamaterial"], rank=2),
        *ferrite,
        make_match(NEED_PNT, DOC_CLOCK, 0.72, ["atomic-clock"]),
        make_match(NEED_PNT, DOC_NV, 0.55, ["quantum-sensing"], rank=2),
    ]


def populate(ledger: Ledger) -> dict[str, str]:
    """Six weeks of history: older runs, a report delivered on Monday, this week's crawl and match run."""
    runs: dict[str, str] = {}
    for weeks_ago in (6, 4, 3, 1):
        at = LAST_SENT - timedelta(weeks=weeks_ago) + timedelta(days=1)
        run = ledger.start_match_run(at=at)
        runs[f"-{weeks_ago}w"] = run
        old = make_match(NEED_QMAG, DOC_OLD, 0.64, ["quantum-sensing"], rank=1)
        filler = [
            make_match(NEED_RAM, _filler(weeks_ago, i), 0.5, ["metamaterial"], rank=2 + i) for i in range(weeks_ago)
        ]
        ledger.record_matches(run, [old, *filler])
        ledger.record_crawl(
            CrawlStats(source="jstage", fetched=40, new=5, unchanged=35, started=at, finished=at), run_id=run
        )
    ledger.record_report("2026-W46", LAST_SENT, "/tmp/outbox/w46.eml", ["scout@example.jp"], "sent", profile="default")

    crawl_at = NOW - timedelta(days=2)
    crawl_run = "crawl-2026-11-18"
    for stats in (
        CrawlStats(source="jstage", fetched=120, new=14, updated=3, unchanged=101, rejected=2),
        CrawlStats(source="prtimes", fetched=60, new=22, updated=0, unchanged=37, rejected=1),
        CrawlStats(source="atla", fetched=12, new=2, updated=1, unchanged=9, rejected=0),
        CrawlStats(source="sbir", fetched=300, new=31, updated=12, unchanged=250, rejected=7),
    ):
        ledger.record_crawl(stats.model_copy(update={"started": crawl_at, "finished": crawl_at}), run_id=crawl_run)
    ledger.record_rejects_count(crawl_run, "prtimes", 3, stage="nlp", at=crawl_at)
    run = ledger.start_match_run(at=crawl_at + timedelta(hours=1))
    runs["this"] = run
    ledger.record_matches(run, this_week_matches())
    return runs


def _filler(weeks_ago: int, i: int) -> Document:
    return _doc(DocKind.research, "arxiv", f"2609.{weeks_ago:02d}{i:03d}", f"Metamaterial study {weeks_ago}-{i}",
                "A metamaterial absorber study.", ["Filler Lab"], "en")  # fmt: skip
