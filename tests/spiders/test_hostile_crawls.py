"""Hostile and unlucky sites through the real Scrapy engine (issue 19, items 4 and 7): redirects off the
allow-list (robots.txt included), an allowed host on another port, a feed redirecting to itself, two feed
items redirecting to one article."""

from __future__ import annotations

from domain.models import Document, Reject
from domain.settings import CrawlSettings
from spiders.runner import run_crawl
from tests.spiders.loopback import LoopbackSite, Page
from tests.spiders.test_crawl_e2e import FAST, article, item, read_batch, read_rejects


def test_redirects_ports_and_loops_are_guarded(scout_home):
    with LoopbackSite({}) as site, LoopbackSite({}) as other:
        # `other` is the same host (127.0.0.1) on another port: a port nobody configured.
        other.pages.update({
            "/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
            "/internal": Page(article("Internal admin page", "Nothing here may be fetched by the crawler.")),
        })
        rss = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Wire</title>
        {item("First copy", "/go/a", "Alpha Robotics Inc. builds drones.")}
        {item("Second copy", "/go/b", "Alpha Robotics Inc. builds drones.")}
        {item("Other port", f"{other.url}/internal", "Beta Sensors Ltd. makes radar receivers for boats.")}
        {item("Bounced", "/go/other", "Gamma Optics LLC makes lidar for night driving.")}
        </channel></rss>"""
        site.pages.update({
            "/robots.txt": Page(location=f"{other.url}/robots.txt"),  # an allowed host bouncing robots.txt away
            "/feeds/main.rss": Page(rss.encode(), "application/rss+xml"),
            "/feeds/loop.rss": Page(location=f"{site.url}/feeds/loop.rss"),
            "/go/a": Page(location=f"{site.url}/articles/same"),
            "/go/b": Page(location=f"{site.url}/articles/same"),
            "/go/other": Page(location=f"{other.url}/internal"),
            "/articles/same": Page(article("Alpha Robotics ships a drone", "Alpha Robotics Inc. announced a "
                                           "quiet survey drone with a hydrogen fuel cell for long missions.")),
        })
        stats = run_crawl("feeds", settings=CrawlSettings(**FAST), base_url=site.url,
                          feeds="feeds/main.rss,feeds/loop.rss")

    assert other.log == [], [h.path for h in other.log]  # neither robots.txt nor the page on the other port
    docs: list[Document] = read_batch(stats.batch_path)
    rejects: list[Reject] = read_rejects(scout_home)
    by_title = {d.title: d for d in docs}
    assert by_title["Other port"].meta["fallback_reason"] == "domain not allow-listed"
    assert by_title["Bounced"].meta["fallback_reason"] == "domain not allow-listed"
    # two items, one article: one document, and the second is a reject that says so (not a silent drop)
    same = [d for d in docs if d.url == f"{site.url}/articles/same"]
    assert len(same) == 1
    [copy] = [r for r in rejects if r.reason.startswith("same article as document")]
    assert copy.url == f"{site.url}/articles/same" and same[0].id in copy.reason
    [loop] = [r for r in rejects if "loop.rss" in (r.url or "")]
    assert "redirect loop" in loop.reason
    assert stats.rejected == 2 and len(docs) == 3


def test_a_crawl_does_not_start_on_a_nearly_full_disk(scout_home, monkeypatch):
    import pytest

    from domain.files import DiskSpaceError

    monkeypatch.setenv("SCOUT_MIN_FREE_MB", str(10**12))
    with pytest.raises(DiskSpaceError, match="SCOUT_MIN_FREE_MB"):
        run_crawl("feeds", settings=CrawlSettings(**FAST), feeds="http://127.0.0.1:9/feed.rss")
    assert not (scout_home / "inbox").exists()
