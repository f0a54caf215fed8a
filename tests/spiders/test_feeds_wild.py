"""Feeds as the wild publishes them, from feedparser's own test corpus (BSD; see fixtures README).

Each corpus file states its own HTTP headers in a `Header:` line of its leading comment, as
feedparser's test runner reads them; `corpus()` hands them to Scrapy the same way. Where a fault
needs a feed the corpus does not have (two posts on one page, an ill-formed variant with items), the
test derives it in code from a corpus body; the few feeds and pages written here in full are
marked as such by their names (ATOM_XML_BASE, PRTIMES_PAGE) or built inline.
"""

from __future__ import annotations

import re

from scrapy import Request
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure
from scrapy.exceptions import IgnoreRequest

from domain.models import Document, Reject
from spiders.base import load_xml
from spiders.sources.feeds import FeedsSpider, read_feed
from tests.spiders.responses import XmlResponse, fixture_bytes, html, response, xml

FEED = "https://feeds.example.jp/index.xml"


def corpus(name: str, url: str = FEED, body: bytes | None = None, **headers: str) -> XmlResponse:
    """A feedparser corpus file as Scrapy hands it to a callback, with the headers it declares."""
    body = fixture_bytes(f"feedparser/{name}") if body is None else body
    declared = dict(re.findall(rb"^Header:\s*([\w-]+):\s*(.+?)\s*$", body, re.M))
    declared = {k.decode(): v.decode() for k, v in declared.items()}
    return response(url, body, XmlResponse, headers={**declared, **{k.replace("_", "-"): v for k, v in headers.items()}})


def split(output):
    output = list(output)
    return ([o for o in output if isinstance(o, Document)], [o for o in output if isinstance(o, Reject)],
            [o for o in output if isinstance(o, Request)])


# --- encodings named only by the HTTP header -------------------------------------------------


def test_shift_jis_feed_with_charset_only_in_the_header_is_read():
    page = corpus("shiftjis.xml", Content_Type="application/atom+xml; charset=Shift_JIS")
    _, rejects, _ = split(FeedsSpider(feeds=FEED).parse(page))
    # the entry is read in full; it has no link to follow, so it is this one item's reject, not the feed's
    assert [r.reason for r in rejects] == ["feed item without a link: 'DrecomRSSに記事投稿が反映されない…'"]
    _, [entry], problem = read_feed(page.body, "application/atom+xml; charset=Shift_JIS")
    assert problem is None and entry["description"].startswith("色々調べてたら、MT3.2がRSS1.0をサポートしていない")


def test_euc_jp_feed_with_charset_only_in_the_header_is_read():
    _, [entry], problem = read_feed(fixture_bytes("feedparser/eucjp.xml"), "text/xml; charset=EUC-JP")
    assert problem is None and entry["title"] == "ゲーム三昧な正月"
    assert "SDガンダムGジェネレーションNEO" in entry["description"]


def test_encoding_declared_only_by_the_document_is_read():
    body = fixture_bytes("feedparser/shiftjis.xml")
    declared = b'<?xml version="1.0" encoding="Shift_JIS"?>\n' + body  # the same bytes, now declaring themselves
    _, [entry], problem = read_feed(declared, None)
    assert problem is None and entry["title"] == "DrecomRSSに記事投稿が反映されない…"
    root, reason = load_xml(corpus("shiftjis.xml", body=declared))
    assert reason is None and "DrecomRSS" in "".join(root.itertext())


def test_shared_xml_loader_decodes_by_the_header_charset():
    """arXiv, J-STAGE and KAKEN share `load_xml`: the header charset decides, as RFC 7303 says."""
    sjis = corpus("shiftjis.xml", Content_Type="application/atom+xml; charset=Shift_JIS")
    root, reason = load_xml(sjis)
    assert reason is None and "DrecomRSSに記事投稿が反映されない…" in "".join(root.itertext())
    root, reason = load_xml(corpus("eucjp.xml", Content_Type="text/xml; charset=EUC-JP"), check_encoding=False)
    assert reason is None and "ゲーム三昧な正月" in "".join(root.itertext())
    # header gb2312 over a document declaring utf-8: the header wins
    root, reason = load_xml(corpus("http_application_atom_xml_gb2312_charset_overrides_encoding.xml"))
    assert reason is None and root.tag == "{http://www.w3.org/2005/Atom}feed"
    # without the header the same bytes cannot be UTF-8, and the loader says so rather than guessing
    root, reason = load_xml(corpus("shiftjis.xml"), check_encoding=False)
    assert root is None and reason.startswith("malformed XML")


def test_content_and_dc_modules():
    _, [entry], problem = read_feed(fixture_bytes("feedparser/item_content_encoded.xml"), None)
    assert problem is None and entry["description"] == "<p>Example content</p>"  # content:encoded
    _, [entry], _ = read_feed(fixture_bytes("feedparser/item_dc_creator.xml"), None)
    assert entry["author"] == "Example editor"  # dc:creator


# --- links: relative, xml:base, #fragments, guids ------------------------------------------


def test_relative_item_link_resolves_against_the_feed_url():
    page = corpus("http_entry_link_base_docuri.xml", url="http://127.0.0.1:8097/feed.xml")
    [request] = split(FeedsSpider(feeds="http://127.0.0.1:8097/feed.xml").parse(page))[2]
    assert request.url == "http://127.0.0.1:8097/relative/link"


ATOM_XML_BASE = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://news.example.org/blog/">
  <title>Example blog</title><id>tag:news.example.org,2026:blog</id><updated>2026-09-12T12:00:00+09:00</updated>
  <entry xml:base="2026/"><id>tag:news.example.org,2026:story</id><title>Story</title>
    <updated>2026-09-12T12:00:00+09:00</updated>
    <link rel="self" href="entry.xml"/><link rel="alternate" href="story"/>
    <summary>Helix Photonics Corp. ships a LiDAR.</summary></entry>
</feed>""".encode()


def test_xml_base_decides_the_item_link_not_the_host_it_was_fetched_from():
    for fetched_from in ("https://mirror.example.net/atom.xml", "http://127.0.0.1:8123/atom.xml"):
        [request] = split(FeedsSpider(feeds=fetched_from).parse(xml(fetched_from, ATOM_XML_BASE)))[2]
        assert request.url == "https://news.example.org/blog/2026/story"
        assert request.cb_kwargs["entry"]["key"] == "tag:news.example.org,2026:story"  # the Atom id


def test_fragment_of_an_item_link_is_kept_and_the_post_read_from_the_feed():
    page = corpus("rss2.0NSwithModules.xml", url="http://www.pocketsoap.com/rssTests/rss2.0NSwithModules.xml")
    [doc] = split(FeedsSpider(feeds=page.url).parse(page))[0]
    assert doc.url == "http://www.pocketsoap.com/weblog/rssTests/rss2.0NSwithModules.xml#1"
    assert doc.source_id == doc.url and doc.meta["text_source"] == "description"
    assert doc.text.startswith("This is a fairly standard RSS 2.0 feed") and doc.language == "en"
    assert doc.published.isoformat() == "2002-09-28T20:01:19+00:00"  # dcterms:modified, time kept


def test_two_posts_on_one_archive_page_are_two_documents():
    body = fixture_bytes("feedparser/rss2.0NSwithModules.xml")
    item = body[body.index(b"<item>"): body.index(b"</item>") + len(b"</item>")]
    second = item.replace(b"xml#1", b"xml#2").replace(b"Test Item", b"Second Item")
    page = corpus("rss2.0NSwithModules.xml", body=body.replace(item, item + second))
    docs = split(FeedsSpider(feeds=FEED).parse(page))[0]
    assert [d.url.rsplit("#", 1)[1] for d in docs] == ["1", "2"] and len({d.id for d in docs}) == 2


def test_fragment_item_without_own_text_is_fetched_even_when_its_page_was():
    feed = b"""<rss version="2.0"><channel><title>Archive</title>
    <item><title>A</title><link>https://blog.example/2026/11/#a</link></item>
    <item><title>B</title><link>https://blog.example/2026/11/#b</link></item></channel></rss>"""
    requests = split(FeedsSpider(feeds=FEED).parse(xml(FEED, feed)))[2]
    assert [r.url for r in requests] == ["https://blog.example/2026/11/#a", "https://blog.example/2026/11/#b"]
    assert all(r.dont_filter for r in requests)  # the dupefilter ignores fragments: it would drop B


def test_guid_not_link_is_the_id():
    page = corpus("item_guid_not_permalink_conflict_link.xml")
    [request] = split(FeedsSpider(feeds=FEED).parse(page))[2]
    assert request.url == "http://link.example.com/" and request.cb_kwargs["entry"]["key"] == "http://guid.example.com/"


def test_same_feed_from_another_base_url_gives_the_same_ids():
    """The demo's announcements feed writes absolute links on whatever host serves it; its guids stay."""
    def feed(base: str) -> bytes:
        return (f'<rss version="2.0"><channel><title>Startup announcements</title><link>{base}/news/</link>'
                f'<item><title>Lumenwave raises $12M</title><link>{base}/news/a1.html</link>'
                f'<guid isPermaLink="false">a1</guid><description>Lumenwave Technologies Inc. raised.</description>'
                f'</item></channel></rss>').encode()

    ids = []
    for base in ("http://127.0.0.1:8001", "http://localhost:9002"):
        spider = FeedsSpider(feeds=f"{base}/feeds/announcements.rss")
        [request] = split(spider.parse(xml(f"{base}/feeds/announcements.rss", feed(base))))[2]
        failure = Failure(IgnoreRequest("Forbidden by robots.txt"))
        failure.request = request
        [doc] = list(spider.article_failed(failure))
        ids.append(doc.id)
        assert doc.url == f"{base}/news/a1.html"
    assert ids[0] == ids[1]


def test_loopback_feed_writing_its_port_into_item_addresses_gives_the_same_ids():
    """The demo's PR TIMES-style RSS 1.0 feed names items by URLs on whatever port serves it."""
    def feed(base: str) -> bytes:
        link = f"{base}/main/html/rd/p/000000001.000000001.html"
        return (f'<rdf:RDF xmlns="http://purl.org/rss/1.0/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                f'<channel rdf:about="{base}/prtimes/"><title>テクノロジー - PR TIMES</title></channel>'
                f'<item rdf:about="{link}"><title>小型ソナー</title><link>{link}</link></item></rdf:RDF>').encode()

    keys = set()
    for base in ("http://127.0.0.1:8001", "http://localhost:9002", "http://[::1]:9003"):
        [request] = split(FeedsSpider(feeds=f"{base}/prtimes/technology.rdf").parse(xml(f"{base}/p.rdf", feed(base))))[2]
        keys.add(request.cb_kwargs["entry"]["key"])
    assert keys == {"テクノロジー - PR TIMES|/main/html/rd/p/000000001.000000001.html"}
    # a public host is the publisher's own address, kept as written
    [request] = split(FeedsSpider(feeds=FEED).parse(xml(FEED, feed("https://prtimes.jp"))))[2]
    assert request.cb_kwargs["entry"]["key"] == "https://prtimes.jp/main/html/rd/p/000000001.000000001.html"


# --- ill-formed feeds: what was recovered, with a note --------------------------------------


def test_truncated_feed_with_a_comment_before_the_xml_declaration_is_not_rejected_whole():
    page = corpus("rss_incomplete_cdata.xml")
    assert load_xml(page)[1].startswith("malformed XML")  # what the strict loader made of it
    docs, rejects, requests = split(FeedsSpider(feeds=FEED).parse(page))
    # its one item was cut inside its title: recovered without a link, so only that item is rejected
    assert [r.reason for r in rejects] == ["feed item without a link: ''"]
    assert "XML or text declaration not at start of entity" in rejects[0].detail


def _recovered(body: bytes):
    spider = FeedsSpider.from_crawler(get_crawler(FeedsSpider), feeds=FEED)
    page = corpus("rss2.0noNSwithModules.xml", url="http://www.pocketsoap.com/rssTests/rss2.0noNSwithModules.xml",
                  body=body)
    assert load_xml(page)[0] is None  # the strict loader rejected every item of these
    return spider, split(spider.parse(page))


def test_ill_formed_variants_of_a_real_feed_keep_their_items_with_a_note():
    body = fixture_bytes("feedparser/rss2.0noNSwithModules.xml")
    comment_end = body.index(b"-->") + 3
    variants = {
        "truncated": body[: body.index(b"</item>") + len(b"</item>") + 10],
        "comment before <?xml": body[:comment_end] + b'\n<?xml version="1.0" encoding="utf-8"?>' + body[comment_end:],
        "undeclared prefix": body.replace(b"<description>", b"<itunes:subtitle>x</itunes:subtitle><description>", 1),
    }
    for name, variant in variants.items():
        spider, (docs, rejects, requests) = _recovered(variant)
        assert rejects == [] and len(requests) == 1, name
        entry = requests[0].cb_kwargs["entry"]
        assert entry["title"] == "Test Item - RSS 2.0 no NS", name
        assert entry["feed_problem"].startswith("ill-formed feed, read leniently"), name
        [note] = spider.crawler.stats.get_value("dualscout/notes")
        assert "1 item(s) recovered" in note, name
        failure = Failure(IgnoreRequest("offsite"))
        failure.request = requests[0]
        [doc] = list(spider.article_failed(failure))
        assert doc.meta["feed_problem"] == entry["feed_problem"], name


def test_ill_formed_feed_with_nothing_recovered_is_rejected_with_its_problem():
    for name in ("undeclared_namespace.xml", "aaa_illformed.xml"):
        [rej] = list(FeedsSpider(feeds=FEED).parse(corpus(name)))
        assert rej.reason.startswith("ill-formed feed, read leniently"), name


def test_old_rss_versions_are_feeds_even_when_empty():
    for name in ("rss_version_090.xml", "rss_version_091_netscape.xml"):
        assert list(FeedsSpider(feeds=FEED).parse(corpus(name))) == [], name


def test_rss1_with_modules():
    page = corpus("rss1.0withModules.xml")
    [doc] = split(FeedsSpider(feeds=FEED).parse(page))[0]  # its link has a #fragment: read from the feed
    assert doc.title == "Test Item - RSS 1.0" and doc.source_id.endswith("rss1.0withModules.xml#1")


# --- the company is the announcer, never the host -------------------------------------------

PRTIMES = "https://prtimes.jp/index.rdf"


def test_dc_corp_is_the_company_when_the_article_cannot_be_fetched():
    spider = FeedsSpider(feeds=PRTIMES)
    [_, request] = split(spider.parse(xml(PRTIMES, "feed_prtimes.rdf")))[2]
    request.cb_kwargs["entry"]["description"] = "浅海域で毎秒100キロビットを実現する水中音響通信モデムを発表しました。"
    failure = Failure(IgnoreRequest("Forbidden by robots.txt"))
    failure.request = request
    [doc] = list(spider.article_failed(failure))
    assert doc.organizations == ["アクアリンク合同会社"]


PRTIMES_PAGE = """<html lang="ja"><head><meta charset="utf-8">
<meta property="og:site_name" content="PR TIMES">
<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
 {"@type": "WebSite", "@id": "https://prtimes.jp/#website", "name": "PR TIMES",
  "publisher": {"@id": "https://prtimes.jp/#organization"}},
 {"@type": "Organization", "@id": "https://prtimes.jp/#organization", "name": "株式会社PR TIMES", "url": "https://prtimes.jp/"},
 {"@type": "NewsArticle", "headline": "水中ドローン向け小型ソナーを発表", "datePublished": "2026-11-21T14:05:00+09:00",
  "publisher": {"@id": "https://prtimes.jp/#organization"}}]}</script>
</head><body><article><h1>水中ドローン向け小型ソナーを発表</h1>
<p>マリンセンス株式会社は、水中ドローンに搭載できる重さ200グラムの小型ソナーを発表しました。浅海域の障害物を
毎秒20回の更新で検出し、港湾点検や海底ケーブルの保守に使えます。量産は2027年春に始める予定です。</p>
<p>本リリースは株式会社PR TIMESの配信サービスを通じて配信されています。</p></article></body></html>"""


def test_publisher_and_site_organization_are_never_the_company():
    spider = FeedsSpider(feeds=PRTIMES)
    entry = {"title": "水中ドローン向け小型ソナーを発表", "link": "https://prtimes.jp/main/html/rd/p/000000001.000011111.html",
             "guid": "", "key": "https://prtimes.jp/main/html/rd/p/000000001.000011111.html", "description": "",
             "published": "", "author": "", "corp": "", "categories": [], "feed": PRTIMES, "feed_title": "PR TIMES",
             "language": "ja"}
    [doc] = list(spider.parse_article(html(entry["link"], PRTIMES_PAGE.encode()), entry=entry))
    assert doc.organizations == ["マリンセンス株式会社"]  # not "PR TIMES", not "株式会社PR TIMES"
    assert doc.meta["site_name"] == "PR TIMES"
    assert doc.published.isoformat() == "2026-11-21T14:05:00+09:00"  # the page's date keeps its time


def test_og_site_name_alone_gives_no_company():
    page = b"""<html lang="en"><head><meta property="og:site_name" content="The Verge">
    <script type="application/ld+json">{"@type": "Organization", "name": "The Verge", "url": "https://www.theverge.com/"}</script>
    </head><body><article><h1>A drone swarm test</h1><p>Engineers flew forty drones in formation over the desert
    to test a new mesh radio that keeps links alive when GPS is jammed, according to people at the test.</p>
    </article></body></html>"""
    spider = FeedsSpider(feeds=FEED)
    entry = {"title": "A drone swarm test", "link": "https://www.theverge.com/2026/11/21/drone-swarm", "guid": "",
             "key": "https://www.theverge.com/2026/11/21/drone-swarm", "description": "", "published": "",
             "author": "", "corp": "", "categories": [], "feed": FEED, "feed_title": "The Verge", "language": "en"}
    [doc] = list(spider.parse_article(html(entry["link"], page), entry=entry))
    assert doc.organizations == [] and doc.meta["site_name"] == "The Verge"


def test_page_date_from_article_meta_keeps_time_of_day():
    spider = FeedsSpider(feeds=FEED)
    request = split(spider.parse(xml("https://news.example.com/feed/", "feed_rss2.xml")))[2][0]
    entry = {**request.cb_kwargs["entry"], "published": ""}
    [doc] = list(spider.parse_article(html(request.url, "article_en.html"), entry=entry))
    assert doc.published.isoformat() == "2026-11-20T08:30:00+00:00"  # article:published_time, not just the day


def test_item_author_that_is_a_company_is_the_company():
    feed = b"""<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Wire</title>
    <item><title>New LiDAR chip</title><link>https://wire.example/lidar</link><dc:creator>Helix Photonics Corp.</dc:creator>
    <description>A chip-scale LiDAR for small drones ships next quarter.</description></item></channel></rss>"""
    spider = FeedsSpider(feeds=FEED)
    [request] = split(spider.parse(xml(FEED, feed)))[2]
    failure = Failure(IgnoreRequest("offsite"))
    failure.request = request
    [doc] = list(spider.article_failed(failure))
    assert doc.organizations == ["Helix Photonics Corp."]


def test_json_ld_article_author_comes_before_other_organizations_of_the_page():
    page = """<html lang="ja"><head><script type="application/ld+json">[
    {"@type": "Organization", "name": "海洋研究開発機構"},
    {"@type": "NewsArticle", "headline": "小型ソナー", "author": {"@type": "Organization", "name": "マリンセンス株式会社"},
     "publisher": {"@type": "Organization", "name": "PR TIMES"}}]</script></head>
    <body><article><h1>小型ソナー</h1><p>マリンセンス株式会社は海洋研究開発機構と共同で、水中ドローン向けの小型ソナーを開発しました。</p></article></body></html>"""
    entry = {"title": "小型ソナー", "link": "https://prtimes.jp/main/html/rd/p/1.html", "guid": "", "key": "k",
             "description": "", "published": "", "author": "", "corp": "", "categories": [], "feed": FEED,
             "feed_title": "PR TIMES", "language": "ja"}
    [doc] = list(FeedsSpider(feeds=FEED).parse_article(html(entry["link"], page.encode()), entry=entry))
    # the organization standing beside the article is not named by it: left out
    assert doc.organizations == ["マリンセンス株式会社"]


def test_external_entities_are_not_resolved():
    feed = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
    <rss version="2.0"><channel><title>t</title><item><title>&xxe;</title><link>https://a.example/x</link></item></channel></rss>"""
    _, [entry], _ = read_feed(feed, None)
    assert "root:" not in entry["title"]


def test_a_malformed_json_ld_script_costs_only_itself():
    page = """<html lang="en"><head><script type="application/ld+json">{bad json,,}</script>
    <script type="application/ld+json">{"@type": "NewsArticle", "author": {"@type": "Organization", "name": "Quiet Robotics LLC"}}</script>
    </head><body><article><h1>Navigation</h1><p>A visual-inertial navigation module that keeps small drones on course
    without GPS, shipping to defense integrators next year.</p></article></body></html>"""
    entry = {"title": "Navigation", "link": "https://wire.example/nav", "guid": "", "key": "k", "description": "",
             "published": "", "author": "", "corp": "", "categories": [], "feed": FEED, "feed_title": "Wire",
             "language": "en"}
    [doc] = list(FeedsSpider(feeds=FEED).parse_article(html(entry["link"], page.encode()), entry=entry))
    assert doc.organizations == ["Quiet Robotics LLC"]


def test_organization_beside_the_article_is_the_site_whatever_its_name():
    page = b"""<html lang="en"><head><meta property="og:site_name" content="The Verge">
    <script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
      {"@type": "Organization", "@id": "#vox", "name": "Vox Media"},
      {"@type": "NewsArticle", "@id": "#story", "headline": "Mesh radios", "author": {"@id": "#writer"},
       "about": {"@id": "#startup"}},
      {"@type": "Person", "@id": "#writer", "name": "A. Reporter"},
      {"@type": "Corporation", "@id": "#startup", "name": "Meshwave Inc."}]}</script>
    </head><body><article><h1>Mesh radios</h1><p>Engineers flew forty drones in formation to test a mesh radio
    that keeps links alive when GPS is jammed.</p></article></body></html>"""
    entry = {"title": "Mesh radios", "link": "https://www.theverge.com/mesh", "guid": "", "key": "k", "description": "",
             "published": "", "author": "", "corp": "", "categories": [], "feed": FEED, "feed_title": "The Verge",
             "language": "en"}
    [doc] = list(FeedsSpider(feeds=FEED).parse_article(html(entry["link"], page), entry=entry))
    assert doc.organizations == ["Meshwave Inc."]  # named by the article (@id reference), not "Vox Media"


def test_a_date_only_feedparser_knows_is_kept():
    """A Greek RFC 822 date (an example of feedparser's docs/date-parsing.rst): our parser has no Greek month names,
    feedparser's reading (the instant, in UTC) stands in."""
    feed = """<rss version="2.0"><channel><title>t</title>
    <item><title>A</title><link>https://a.example/1#a</link><description>Lumenwave Technologies Inc. raised.</description>
    <pubDate>Κυρ, 11 Ιούλ 2004 12:00:00 EST</pubDate></item></channel></rss>""".encode()
    [doc] = split(FeedsSpider(feeds=FEED).parse(xml(FEED, feed)))[0]
    assert doc.published.isoformat() == "2004-07-11T17:00:00+00:00"


def test_scout_crawl_prints_the_notes_of_a_recovered_feed(scout_home):
    import typer
    from typer.testing import CliRunner

    from scout.commands.crawl import register
    from tests.spiders.loopback import LoopbackSite, Page

    body = fixture_bytes("feedparser/rss2.0noNSwithModules.xml")
    truncated = body[: body.index(b"</item>") + len(b"</item>") + 10]
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    pages = {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
             "/feed.xml": Page(truncated, "application/rss+xml")}
    with LoopbackSite(pages) as site:
        result = CliRunner().invoke(app, ["crawl", "feeds", "-a", f"feeds={site.url}/feed.xml",
                                          "-a", f"base_url={site.url}"], env={"SCOUT_CRAWL_DOWNLOAD_DELAY": "0"})
    assert result.exit_code == 0, result.output
    assert f"note: {site.url}/feed.xml: ill-formed feed, read leniently" in " ".join(result.output.split())


def test_a_web_page_given_as_feed_leads_to_the_feeds_it_announces():
    page = b"""<html><head><title>Helix Photonics news</title>
    <link rel="alternate" type="application/atom+xml" title="News" href="/news/atom.xml">
    <link rel="alternate" type="text/html" hreflang="ja" href="/ja/"></head><body><h1>News</h1></body></html>"""
    spider = FeedsSpider(feeds="https://helixphotonics.example/news/")
    [request] = list(spider.parse(html("https://helixphotonics.example/news/", page)))
    assert request.url == "https://helixphotonics.example/news/atom.xml" and request.callback == spider.parse
    # the announced URL is again a page: rejected, not followed further
    again = html(request.url, page)
    again.request.meta["discovered_from"] = "https://helixphotonics.example/news/"
    [rej] = list(spider.parse(again))
    assert rej.reason.startswith("not an RSS or Atom feed")
