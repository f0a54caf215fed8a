"""End to end through the real Scrapy engine, in a subprocess (`run_crawl`), against a loopback site:
robots.txt, a 404, a 500 then success, a redirect, malformed and oversized pages, an off-list link;
then a second crawl of the unchanged site emits nothing new."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.models import Document, Reject
from domain.settings import CrawlSettings
from spiders.runner import UnknownSpiderError, run_crawl
from spiders.sources.arxiv import ArxivSpider
from spiders.sources.sbir_topics import SbirTopicsSpider
from tests.spiders.responses import fixture_bytes
from tests.spiders.loopback import LoopbackSite, Page

FAST = dict(download_delay=0.0, autothrottle=False, max_page_bytes=100_000, retry_times=2)

ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def item(title: str, link: str, description: str = "") -> str:
    return (f"<item><title>{title}</title><link>{link}</link>"
            f"<pubDate>Thu, 19 Nov 2026 14:05:00 +0000</pubDate><description>{description}</description></item>")


def article(title: str, paragraph: str) -> bytes:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="og:site_name" content="Loopback Wire"></head><body><nav>Home | About</nav>'
            f"<article><h1>{title}</h1><p>{paragraph}</p><p>{paragraph}</p></article>"
            f"<footer>Copyright</footer></body></html>").encode()


def feed_site(base: str) -> dict[str, Page]:
    rss = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Loopback Wire</title>
    <language>en</language>
    {item("Quiet Robotics ships GPS-denied navigation", "/go/quiet")}
    {item("Flaky server, good article", "/articles/flaky")}
    {item("Robots say no", "/private/secret", "Hidden Systems Inc. built a passive radar receiver for small boats.")}
    {item("Off the allow-list", "https://offsite.example/story", "Far Away Ltd. makes underwater acoustic modems for sensor networks.")}
    {item("Missing page", "/articles/missing")}
    {item("Huge page", "/articles/huge")}
    {item("Garbage page", "/articles/garbage")}
    </channel></rss>"""
    return {
        "/robots.txt": Page(ROBOTS, "text/plain"),
        "/feeds/startups.rss": Page(rss.encode(), "application/rss+xml", cache_control="max-age=0, must-revalidate"),
        "/feeds/broken.rss": Page(b"<?xml version='1.0'?><rss><channel><item><title>cut off", "application/rss+xml"),
        "/go/quiet": Page(location=f"{base}/articles/quiet"),
        "/articles/quiet": Page(article("Quiet Robotics ships GPS-denied navigation",
                                        "Quiet Robotics LLC announced a visual-inertial navigation module that keeps "
                                        "small drones on course without satellite signals, fusing an event camera "
                                        "with a low-power inertial unit.")),
        "/articles/flaky": Page(article("Flaky server, good article",
                                        "Terahertz Labs Inc. demonstrated a compact terahertz imager that sees "
                                        "through packaging and clothing at walk-through speed."), statuses=[500]),
        "/private/secret": Page(article("Secret", "This page must never be fetched.")),
        "/articles/huge": Page(b"<html><body>" + b"<p>padding</p>" * 20_000 + b"</body></html>"),
        "/articles/garbage": Page(b"<html><body><p>caf\xe9 \x81\xc3(</p>" * 10 + b"</body></html>", "text/html; charset=utf-8"),
    }


def read_batch(path: str | None) -> list[Document]:
    assert path and Path(path).exists() and not Path(path + ".part").exists()
    return [Document.model_validate_json(line) for line in Path(path).read_text().splitlines()]


def read_rejects(home: Path) -> list[Reject]:
    path = home / "rejects.jsonl"
    return [Reject.model_validate_json(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_feeds_crawl_end_to_end_then_incremental(scout_home):
    with LoopbackSite({}) as site:
        site.pages.update(feed_site(site.url))
        settings = CrawlSettings(**FAST)
        feeds = "feeds/startups.rss,feeds/broken.rss,feeds/gone.rss"

        first = run_crawl("feeds", settings=settings, base_url=site.url, feeds=feeds)

        docs = read_batch(first.batch_path)
        titles = sorted(d.title for d in docs)
        assert titles == ["Flaky server, good article", "Off the allow-list",
                          "Quiet Robotics ships GPS-denied navigation", "Robots say no"]
        by_title = {d.title: d for d in docs}
        quiet = by_title["Quiet Robotics ships GPS-denied navigation"]
        assert quiet.url == f"{site.url}/articles/quiet"  # followed the redirect
        assert "event camera" in quiet.text and quiet.meta["text_source"] == "article"
        assert quiet.organizations == ["Quiet Robotics LLC"]
        assert by_title["Robots say no"].meta["fallback_reason"] == "forbidden by robots.txt"
        assert by_title["Off the allow-list"].meta["fallback_reason"] == "domain not allow-listed"
        assert (first.new, first.updated, first.unchanged) == (4, 0, 0)

        reasons = sorted((r.url.removeprefix(site.url), r.reason) for r in read_rejects(scout_home))
        assert reasons == [
            ("/articles/garbage", "article page: undecodable body (not valid utf-8); feed item has no description"),
            ("/articles/huge", "article page: page too large; feed item has no description"),
            ("/articles/missing", "article page: http 404; feed item has no description"),
            ("/feeds/broken.rss", reasons[3][1]),
            ("/feeds/gone.rss", "http 404"),
        ]
        # the truncated feed is read leniently: its one item is recovered (without a link, so rejected
        # alone) and the feed's problem is a note of the crawl, not a reject of the whole feed
        assert reasons[3][1] == "feed item without a link: ''"
        [note] = first.notes
        assert note.startswith(f"{site.url}/feeds/broken.rss: ill-formed feed, read leniently")
        assert first.rejected == 5 and all(r.source == "feeds" for r in read_rejects(scout_home))
        assert first.errors == []

        # robots.txt was read and obeyed; the 500 was retried; nothing off-list was attempted
        assert site.hits("/robots.txt") and not site.hits("/private/secret")
        assert [h.status for h in site.hits("/articles/flaky")] == [500, 200]
        assert [h.status for h in site.hits("/go/quiet")] == [302]
        assert all("dualscout" in h.headers.get("User-Agent", "") for h in site.log)
        # feeds: startups, broken, gone (404); articles: quiet (after its redirect), flaky (the 200), missing, garbage
        assert first.fetched == 7

        site.log.clear()
        second = run_crawl("feeds", settings=settings, base_url=site.url, feeds=feeds)

        assert (second.new, second.updated, second.unchanged) == (0, 0, 4)
        assert second.batch_path is None
        assert second.rejected == 5  # still broken, recorded again
        # conditional GET: the feed was revalidated with its ETag and not sent again
        [feed_hit] = site.hits("/feeds/startups.rss")
        assert feed_hit.status == 304 and feed_hit.headers.get("If-None-Match")
        assert not site.hits("/private/secret")


def test_arxiv_paging_and_sbir_crawls(scout_home):
    settings = CrawlSettings(**FAST)
    with LoopbackSite({}) as site:
        arxiv = ArxivSpider(query="cat:cs.CV", page_size=2, base_url=site.url)
        sbir = SbirTopicsSpider(rows=2, base_url=site.url)
        strip = len(site.url)
        site.pages.update({
            "/robots.txt": Page(ROBOTS, "text/plain"),
            arxiv.page_url(0)[strip:]: Page(fixture_bytes("arxiv_page1.xml"), "application/atom+xml"),
            arxiv.page_url(2)[strip:]: Page(fixture_bytes("arxiv_page2.xml"), "application/atom+xml"),
            sbir.page_url(0)[strip:]: Page(fixture_bytes("sbir_solicitations_page1.json"), "application/json"),
            sbir.page_url(2)[strip:]: Page(b"[]", "application/json"),
        })
        research = run_crawl("arxiv", settings=settings, base_url=site.url, query="cat:cs.CV", page_size=2)
        needs = run_crawl("sbir_topics", settings=settings, base_url=site.url, rows=2)

    assert (research.new, research.rejected) == (3, 0)
    assert sorted(d.source_id for d in read_batch(research.batch_path)) == ["1907.08891", "2011.04567", "2106.01234"]
    assert (needs.new, needs.rejected) == (3, 0)
    assert {d.source_id for d in read_batch(needs.batch_path)} == {"A12083", "A14015", "AF141040"}



def test_unknown_spider_is_a_clear_error():
    with pytest.raises(UnknownSpiderError, match="unknown spider 'nope'; known spiders: .*arxiv"):
        run_crawl("nope")


def test_crawl_killed_midway_loses_nothing(scout_home):
    """SIGKILL after the first document reached the batch: no state was committed, so the next
    crawl emits that document again, with the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from spiders.runner import PROJECT_ROOT, settings_env

    with LoopbackSite({}) as site:
        rss = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        {item("Fast article", "/articles/fast")}{item("Slow article", "/articles/slow")}</channel></rss>"""
        site.pages.update({
            "/robots.txt": Page(b"", "text/plain"),
            "/feed.rss": Page(rss.encode(), "application/rss+xml"),
            "/articles/fast": Page(article("Fast article", "Sonic Materials Inc. sells acoustic metamaterial panels.")),
            "/articles/slow": Page(article("Slow article", "Tortoise Robotics Ltd. builds legged robots."), delay=20),
        })
        env = {**os.environ, **settings_env(CrawlSettings(**FAST)), "PYTHONPATH": str(PROJECT_ROOT)}
        child = subprocess.Popen([sys.executable, "-m", "spiders.crawl", "feeds", "-a", f"base_url={site.url}",
                                  "-a", "feeds=feed.rss"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                parts = list((scout_home / "inbox").glob("*.part")) if (scout_home / "inbox").exists() else []
                if parts and parts[0].read_text().count("\n") == 1:
                    break
                time.sleep(0.1)
            else:
                pytest.fail("the first document never reached the batch")
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        assert not list((scout_home / "inbox").glob("*.jsonl"))  # no finished batch

        site.pages["/articles/slow"].delay = 0
        again = run_crawl("feeds", settings=CrawlSettings(**FAST), base_url=site.url, feeds="feed.rss")

    assert (again.new, again.unchanged) == (2, 0)
    assert sorted(d.title for d in read_batch(again.batch_path)) == ["Fast article", "Slow article"]


def test_bad_spider_argument_is_a_clear_error():
    from spiders.runner import CrawlError

    with pytest.raises(CrawlError, match="spider argument max_records must be an integer, got 'many'"):
        run_crawl("arxiv", settings=CrawlSettings(**FAST), base_url="http://127.0.0.1:9", max_records="many")


def test_demo_feed_crawled_from_another_base_url_adds_no_documents(scout_home):
    """Issue 15: the same feed served from another address gave every item a new id (the id followed the URL)."""
    from scout.demo.site import DemoSite

    settings = CrawlSettings(**{**FAST, "max_page_bytes": 10_000_000})  # the demo feed lists all 211 items
    runs = []
    for _ in range(2):
        with DemoSite() as site:  # a new free port each time
            runs.append(run_crawl("feeds", settings=settings, base_url=site.base_url,
                                  feeds="feeds/announcements.rss", max_items=8))
    first, second = runs
    assert first.new == 8 and first.rejected == 0
    assert (second.new, second.updated, second.unchanged) == (0, 0, 8)
