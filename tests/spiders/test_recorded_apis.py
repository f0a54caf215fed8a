"""Research APIs: answers published by their client libraries, and the shared loader's header
charsets (see fixtures README)."""

from __future__ import annotations

from domain.models import Document, Reject
from spiders.sources.kaken import KakenSpider
from tests.spiders.responses import XmlResponse, fixture_bytes, response

KAKEN = "https://kaken.nii.ac.jp/opensearch/?format=xml&kw=%E6%A9%9F%E6%A2%B0%E5%AD%A6%E7%BF%92"


def kaken_answer(body: bytes, charset: str = "UTF-8") -> XmlResponse:
    return response(KAKEN, body, XmlResponse, headers={"Content-Type": f"application/xml; charset={charset}"})


def test_kaken_grant_list_of_the_typescript_client():
    out = list(KakenSpider().parse(kaken_answer(fixture_bytes("kaken_client_ts/projects_response.xml"))))
    [doc] = [o for o in out if isinstance(o, Document)]
    [rej] = [o for o in out if isinstance(o, Reject)]
    assert doc.source_id == "KAKENHI-PROJECT-21K10000" and doc.title == "機械学習を用いた新しい研究手法の開発"
    assert doc.organizations == ["東京大学"] and doc.language == "ja"
    assert doc.published.isoformat() == "2021-04-01T00:00:00+00:00"
    assert "機械学習; 深層学習" in doc.text and "Development of New Research Methods" in doc.text
    assert doc.meta["principal_investigators"] == ["山田 太郎"]
    # the second award has a title only: rejected with its reason, the first is unaffected
    assert rej.reason == "grant award without outline or keywords"


def test_kaken_answer_in_shift_jis_named_only_by_the_header():
    """The same answer transcoded to Shift_JIS, its XML declaration left saying UTF-8: the header decides."""
    body = fixture_bytes("kaken_client_ts/projects_response.xml").decode("utf-8").encode("shift_jis")
    docs = [o for o in KakenSpider().parse(kaken_answer(body, "Shift_JIS")) if isinstance(o, Document)]
    assert [d.title for d in docs] == ["機械学習を用いた新しい研究手法の開発"]


def test_jstage_answer_in_euc_jp_named_only_by_the_header():
    """J-STAGE's search answer (hand-written fixture) transcoded to EUC-JP, declaration left as UTF-8."""
    from spiders.sources.jstage import JstageSpider

    url = "https://api.jstage.jst.go.jp/searchapi/do?service=3&keyword=radar"
    utf8 = [o for o in JstageSpider(follow_articles="false").parse(
        response(url, fixture_bytes("jstage_search.xml"), XmlResponse)) if isinstance(o, Document)]
    body = fixture_bytes("jstage_search.xml").decode("utf-8").encode("euc_jp")
    answer = response(url, body, XmlResponse, headers={"Content-Type": "application/xml; charset=EUC-JP"})
    docs = [o for o in JstageSpider(follow_articles="false").parse(answer) if isinstance(o, Document)]
    assert docs and [d.title for d in docs] == [d.title for d in utf8]
