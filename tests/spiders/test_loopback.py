"""End to end through the real Scrapy engine against a loopback HTTP server, one crawl per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.spiders.responses import fixture_bytes

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: Twisted's reactor cannot be restarted within one process.
CRAWL_SCRIPT = r"""
import importlib, json, sys
import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess

name, args = sys.argv[1], json.loads(sys.argv[2])
module = importlib.import_module(f"spiders.sources.{name}")
spider_cls = next(v for v in vars(module).values()
                  if isinstance(v, type) and issubclass(v, scrapy.Spider) and getattr(v, "name", None) == name)
process = CrawlerProcess(settings={
    "ROBOTSTXT_OBEY": True, "LOG_LEVEL": "DEBUG", "TELNETCONSOLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0, "RETRY_TIMES": 2, "RETRY_HTTP_CODES": [500, 502, 503, 504, 408, 429],
    "HTTPCACHE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
})
crawler = process.create_crawler(spider_cls)
items = []
crawler.signals.connect(
    lambda item, **kw: items.append({"type": type(item).__name__, **item.model_dump(mode="json")}),
    signal=signals.item_scraped, weak=False)
process.crawl(crawler, **args)
process.start()
print(json.dumps({"items": items, "reason": crawler.stats.get_value("finish_reason"),
                  "stats": {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, str))}}))
"""

Route = tuple[int, dict[str, str], bytes]


class LoopbackServer:
    """Serves `routes[path]` (or `routes[path?query]` via a callable) and records every request."""

    def __init__(self, routes: dict[str, Route | Callable[[str, dict[str, list[str]]], Route]]) -> None:
        self.routes = routes
        self.seen: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.seen.append(self.path)
                parts = urlsplit(self.path)
                route = server.routes.get(parts.path)
                if callable(route):
                    route = route(parts.path, parse_qs(parts.query))
                status, headers, body = route or (404, {"Content-Type": "text/plain"}, b"not found")
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "LoopbackServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def crawl(name: str, args: dict[str, Any], env: dict[str, str] | None = None) -> tuple[dict[str, Any], str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SCOUT_CRAWL_", "SCRAPY_"))}
    environment.update(env or {}, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", CRAWL_SCRIPT, name, json.dumps(args)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=environment,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


ROBOTS_OK = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private/\n")


def test_openalex_stops_on_exhausted_credits_without_retrying_and_never_logs_the_key() -> None:
    def works(path: str, query: dict[str, list[str]]) -> Route:
        if query.get("cursor") == ["*"]:
            return 200, {"Content-Type": "application/json"}, fixture_bytes("openalex_works_page1.json")
        return 429, {"Content-Type": "application/json", "Retry-After": "0"}, fixture_bytes("openalex_429.json")

    with LoopbackServer({"/robots.txt": ROBOTS_OK, "/works": works}) as server:
        result, log = crawl(
            "openalex", {"base_url": f"{server.url}/works", "search": "radar"},
            env={"SCOUT_CRAWL_OPENALEX_API_KEY": "sk-loopback-secret", "SCOUT_CRAWL_OPENALEX_MAILTO": "ops@example.org"},
        )
    assert result["reason"].startswith("openalex_credits_exhausted")
    assert "SCOUT_CRAWL_OPENALEX_API_KEY" in result["reason"]
    works_requests = [p for p in server.seen if p.startswith("/works")]
    assert len(works_requests) == 2, server.seen  # page 1, then the 429 once: no retry loop
    assert all("api_key=sk-loopback-secret" in p for p in works_requests)  # the key is sent ...
    assert "sk-loopback-secret" not in log and "api_key=***" in log  # ... and never logged
    assert "sk-loopback-secret" not in json.dumps(result)
    kinds = [i["type"] for i in result["items"]]
    assert kinds.count("Document") == 2 and kinds.count("Reject") == 2


def test_atla_crawls_programme_page_to_theme_needs_and_rejects_a_truncated_pdf() -> None:
    pdf = fixture_bytes("atla_r07_themes.pdf")
    html = {"Content-Type": "text/html; charset=utf-8"}
    routes: dict[str, Any] = {
        "/robots.txt": ROBOTS_OK,
        "/atla/funding.html": (200, html, fixture_bytes("atla_funding.html")),
        "/atla/funding/koubo/r07koubo.html": (200, html, fixture_bytes("atla_koubo.html")),
        "/atla/funding/koubo/r07/r07_kenkyutheme.pdf": (200, {"Content-Type": "application/pdf"}, pdf),
        "/atla/funding/koubo/r07/r07_youryou_truncated.pdf": (200, {"Content-Type": "application/pdf"}, pdf[: len(pdf) // 2]),
    }
    with LoopbackServer(routes) as server:
        result, _ = crawl("atla", {"base_url": f"{server.url}/atla/funding.html"})
    assert result["reason"] == "finished"
    needs = [i for i in result["items"] if i["type"] == "Document"]
    rejects = [i for i in result["items"] if i["type"] == "Reject"]
    assert sorted(n["meta"]["theme_number"] for n in needs) == [1, 2, 3]
    assert {n["organizations"][0] for n in needs} == {"防衛装備庁"} and {n["kind"] for n in needs} == {"need"}
    assert len(rejects) == 1 and "truncated PDF" in rejects[0]["reason"]
    assert rejects[0]["url"].endswith("r07_youryou_truncated.pdf")
    assert server.seen.count("/atla/funding/koubo/r07/r07_kenkyutheme.pdf") == 1  # the #page=2 link is the same file


def test_jstage_follows_articles_pages_on_and_keeps_records_whose_page_fails() -> None:
    def rebased(name: str, base: str) -> bytes:
        return fixture_bytes(name).replace(b"https://www.jstage.jst.go.jp", base.encode())

    state: dict[str, str] = {}

    def search(path: str, query: dict[str, list[str]]) -> Route:
        xml = {"Content-Type": "application/xml; charset=utf-8"}
        if query.get("start") == ["1"]:
            return 200, xml, rebased("jstage_search.xml", state["base"])
        return 200, xml, fixture_bytes("jstage_no_hits.xml")

    routes: dict[str, Any] = {
        "/robots.txt": ROBOTS_OK,
        "/searchapi/do": search,
        "/article/transcom/E107.B/3/E107.B_2023EBP3101/_article": (
            200, {"Content-Type": "text/html; charset=utf-8"}, fixture_bytes("jstage_article.html")),
        # the second article page is missing (404): its search record is kept as it is
    }
    with LoopbackServer(routes) as server:
        state["base"] = server.url
        result, _ = crawl("jstage", {"base_url": f"{server.url}/searchapi/do", "keyword": "レーダ", "count": 2})
    docs = [i for i in result["items"] if i["type"] == "Document"]
    rejects = [i for i in result["items"] if i["type"] == "Reject"]
    assert result["reason"] == "finished"
    assert [d["organizations"] for d in docs] == [["東北大学", "株式会社スペースセンシング"]]
    assert docs[0]["meta"]["has_abstract"] is True
    # entry without link; the article whose page 404s has no abstract/English title, so it is a reject too
    assert sorted(r["reason"] for r in rejects) == [
        "article without abstract, English title or keywords", "entry without title or link"]
    assert any(p.startswith("/searchapi/do?") and "start=3" in p for p in server.seen)  # paged on


@pytest.mark.parametrize("name", ["diu", "nato_diana"])
def test_html_need_pages_crawl_end_to_end(name: str) -> None:
    page = {"diu": "diu_open_solicitations.html", "nato_diana": "nato_diana_challenges.html"}[name]
    routes = {"/robots.txt": ROBOTS_OK, "/page.html": (200, {"Content-Type": "text/html; charset=utf-8"}, fixture_bytes(page))}
    with LoopbackServer(routes) as server:
        result, _ = crawl(name, {"base_url": f"{server.url}/page.html"})
    docs = [i for i in result["items"] if i["type"] == "Document"]
    assert result["reason"] == "finished" and len(docs) >= 2 and all(d["kind"] == "need" for d in docs)


def test_kaken_without_appid_closes_at_once() -> None:
    with LoopbackServer({"/robots.txt": ROBOTS_OK}) as server:
        result, _ = crawl("kaken", {"base_url": f"{server.url}/opensearch/", "kw": "x"})
    assert result["reason"].startswith("kaken_appid_missing") and result["items"] == []
    assert [p for p in server.seen if not p.startswith("/robots.txt")] == []
