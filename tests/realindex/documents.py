"""Fixture documents for the real-index tests: the web fixtures (tests/web/fakes.py) plus more of the same shape.

Needs, research results and startups in Japanese and English, organizations written in the forms crawled text
uses (株式会社 before or after the name, Inc., Ltd., universities), published dates from 2019 to 2026, and one
hostile record (script/HTML payloads and a javascript: URL). Nothing here says what a search should return:
the tests compare the three doors with each other and with the filters they were given.
"""

from __future__ import annotations

from datetime import datetime, timezone

from domain.models import Document
from tests.web.fakes import fixture_documents


def _doc(kind: str, source: str, sid: str, title: str, text: str, lang: str, orgs: list[str], published: str,
         url: str | None = None) -> Document:
    return Document.make(
        kind=kind, source=source, source_id=sid, url=url or f"https://example.org/{source}/{sid}", title=title,
        text=text, language=lang, organizations=orgs,
        published=datetime.fromisoformat(published).replace(tzinfo=timezone.utc),
        first_seen=datetime(2026, 10, 1, tzinfo=timezone.utc),
    )


def more_documents() -> list[Document]:
    return [
        # Needs
        _doc("need", "atla", "atla-2025-11", "無人機群の自律協調制御技術",
             "防衛装備庁は、複数の小型無人機が通信途絶下でも自律的に協調して偵察を行う群制御技術を求めている。"
             "分散型の意思決定と衝突回避、画像認識による目標検出を含むこと。", "ja", ["防衛装備庁"], "2025-11-05"),
        _doc("need", "sbir", "N252-044", "Hypersonic thermal protection materials",
             "The Navy seeks ceramic matrix composites and ultra-high temperature ceramics for thermal protection of "
             "hypersonic vehicles. Materials must survive oxidation above 2000 C and be manufacturable at scale.",
             "en", ["U.S. Navy"], "2025-06-01"),
        # Research
        _doc("research", "arxiv", "2502.11111", "Decentralized swarm control of small UAVs under communication loss",
             "We present a decentralized swarm control method for small unmanned aerial vehicles that keeps formation "
             "and avoids collisions when communication is lost. Object detection on board uses a compact neural network.",
             "en", ["University of Tokyo"], "2025-02-11"),
        _doc("research", "jstage", "jst-2023-0456", "通信途絶環境における小型無人機群の分散協調制御",
             "本研究では、通信が途絶した環境で小型無人機群が分散的に協調する制御手法を提案する。"
             "衝突回避と編隊維持を実機実験で検証した。", "ja", ["大阪大学"], "2023-07-20"),
        _doc("research", "openalex", "W3100000002", "Oxidation-resistant ultra-high temperature ceramic composites",
             "Ultra-high temperature ceramics based on zirconium diboride with silicon carbide resist oxidation above "
             "2000 C. Ceramic matrix composites made by reactive melt infiltration suit hypersonic leading edges.",
             "en", ["Imperial College London"], "2019-05-14"),
        _doc("research", "kaken", "21H04567", "超高温セラミックス複合材料の耐酸化性向上",
             "極超音速飛行体の熱防護に向けて、超高温セラミックス複合材料の耐酸化性を向上させる手法を開発した。",
             "ja", ["物質・材料研究機構"], "2021-04-01"),
        _doc("research", "arxiv", "2408.22222", "Machine learning for passive radar target classification",
             "Passive radar using broadcast signals detects and classifies small drones. A convolutional network "
             "classifies micro-Doppler signatures with 94 percent accuracy.", "en", ["Fraunhofer FHR"], "2024-08-30"),
        _doc("research", "arxiv", "2211.33333", "Graphene-based microwave absorbers for stealth coatings",
             "Graphene foams act as lightweight microwave absorbers. The coating reduces radar cross section across "
             "the X band and resists weathering.", "en", ["Tsinghua University"], "2022-11-03"),
        _doc("research", "jstage", "jst-2020-0789", "リチウムイオン電池の低温特性改善",
             "寒冷地で使用する携行型リチウムイオン電池の低温特性を改善する電解液添加剤を開発した。"
             "マイナス30度での放電容量が向上した。", "ja", ["京都大学"], "2020-01-15"),
        _doc("research", "openalex", "W3900000003", "Cold-atom interferometry for inertial navigation",
             "A compact cold-atom interferometer measures acceleration and rotation for inertial navigation without "
             "satellite signals. Field trials on a ship show drift below one nautical mile per day.", "en",
             ["Sandia National Laboratories"], "2023-03-09"),
        # Startups
        _doc("startup", "prtimes", "skyswarm-2026", "スカイスウォーム株式会社、群制御ドローンの実証に成功",
             "スカイスウォーム株式会社は、通信が途絶しても自律的に協調飛行する群制御ドローンの実証実験に成功した。"
             "災害対応や警備への応用を見込む。", "ja", ["スカイスウォーム株式会社"], "2026-02-18"),
        _doc("startup", "prtimes", "ultraceramic-2024", "株式会社ウルトラセラミック、超高温耐熱材料を量産へ",
             "株式会社ウルトラセラミックは、極超音速機向けの超高温セラミックス複合材料の量産ラインを開設した。",
             "ja", ["株式会社ウルトラセラミック"], "2024-10-01"),
        _doc("startup", "rss", "aeroshield-seriesa", "AeroShield Ltd. raises Series A for hypersonic heat shields",
             "AeroShield Ltd. builds ceramic matrix composite heat shields for hypersonic vehicles and reusable "
             "launchers.", "en", ["AeroShield Ltd."], "2025-09-12"),
        _doc("startup", "rss", "radarsense-launch", "RadarSense Inc. launches passive radar for drone detection",
             "RadarSense Inc. launched a passive radar that detects small drones using FM broadcast signals, for "
             "counter-UAS at airports and bases.", "en", ["RadarSense Inc."], "2026-06-30"),
        _doc("startup", "prtimes", "mitsubishi-absorber", "三菱電機株式会社、広帯域電波吸収体を開発",
             "三菱電機株式会社は、艦艇向けの広帯域電波吸収体を開発した。メタマテリアル構造により薄型化を実現した。",
             "ja", ["三菱電機株式会社"], "2025-04-22"),
        _doc("startup", "rss", "coldcell-2023", "ColdCell Energy ships arctic-grade lithium batteries",
             "ColdCell Energy ships lithium batteries rated to minus 40 degrees for soldiers and sensors in the arctic.",
             "en", ["ColdCell Energy"], "2023-12-05"),
        _doc("startup", "rss", "atomnav-seed", "AtomNav raises seed funding for quantum inertial navigation",
             "AtomNav builds a cold-atom quantum inertial navigation unit for ships and aircraft in GPS-denied areas.",
             "en", ["AtomNav Inc."], "2024-05-17"),
        _doc("startup", "prtimes", "quantum-sensing-jp", "株式会社量子センシング、NV中心磁気センサを発売",
             "株式会社量子センシングは、ダイヤモンドNV中心を用いた小型の量子磁気センサを発売した。"
             "衛星測位に頼らない航法への応用を想定する。", "ja", ["株式会社量子センシング"], "2026-07-07"),
        _doc("startup", "rss", "swarmworks", "SwarmWorks demonstrates autonomous drone swarm for reconnaissance",
             "SwarmWorks Inc. demonstrated an autonomous drone swarm that shares reconnaissance tasks and avoids "
             "collisions without a ground link.", "en", ["SwarmWorks Inc."], "2025-10-10"),
        # An award that names its sponsor, the Navy's research office, beside the firm: the Navy issued the
        # hypersonic need, so its office is no organization answering it (tests/realindex/test_issuers.py).
        _doc("startup", "rss", "thermatile-sbir", "ThermaTile Inc. wins Navy SBIR Phase II for hypersonic heat shields",
             "ThermaTile Inc. received an Office of Naval Research SBIR Phase II award to scale ultra-high "
             "temperature ceramic matrix composite tiles for the thermal protection of hypersonic vehicles.",
             "en", ["ThermaTile Inc.", "Office of Naval Research"], "2025-08-20"),
        # A second hostile record: markup in Japanese text, in the organization and an event-handler URL.
        _doc("startup", "prtimes", "payload-2", "株式会社<script>alert('ja')</script>、電波吸収シートを発表",
             "<iframe src=\"javascript:alert(6)\"></iframe>電波吸収シート</textarea><script>document.cookie</script>"
             "を発表した。", "ja", ["株式会社<b>悪意</b>"], "2026-03-03", url="javascript:alert(7)"),
    ]


def realindex_documents() -> list[Document]:
    """The 14 web fixtures (their `meta` hints removed: the real nlp decides concepts) and 21 more."""
    web = [d.model_copy(update={"meta": {}}) for d in fixture_documents()]
    return web + more_documents()
