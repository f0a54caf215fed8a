"""The Scrapy project as a whole: `scrapy list`, `scrapy check` (contracts over a loopback site),
settings derived from CrawlSettings, the allow-list, the pipelines and the `scout crawl` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from scrapy import Request
from scrapy.exceptions import DropItem, IgnoreRequest
from scrapy.utils.test import get_crawler
from typer.testing import CliRunner

from domain.models import Document, Reject
from spiders.contracts import rebase
from spiders.middlewares import AllowListMiddleware
from spiders.pipelines import BatchWriterPipeline, DedupPipeline, RejectsPipeline, ValidatePipeline
from spiders.runner import settings_env
from spiders.sources.arxiv import ArxivSpider
from spiders.sources.feeds import FeedsSpider
from spiders.sources.needs_file import NeedsFileSpider
from spiders.state import CrawlState
from tests.spiders.responses import fixture_bytes
from tests.spiders.loopback import LoopbackSite, Page

ROOT = Path(__file__).resolve().parents[2]
MINE = ["arxiv", "feeds", "needs_file", "sbir_topics"]


def scrapy(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_scrapy_list_shows_every_spider():
    result = scrapy("list")
    assert result.returncode == 0, result.stderr
    assert set(MINE) <= set(result.stdout.split())


def test_scrapy_check_runs_contracts_over_loopback():
    pages = {
        "/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
        "/api/query": Page(fixture_bytes("arxiv_page1.xml"), "application/atom+xml"),
        "/index.rdf": Page(fixture_bytes("feed_prtimes.rdf"), "application/rdf+xml"),
        "/main/html/rd/p/000000012.000012345.html": Page(fixture_bytes("article_ja.html")),
        "/public/api/solicitations": Page(fixture_bytes("sbir_solicitations_page1.json"), "application/json"),
        "/needs.yaml": Page(fixture_bytes("needs.yaml"), "application/yaml"),
    }
    with LoopbackSite(pages) as site:
        result = scrapy("check", *MINE, "-a", f"base_url={site.url}", env={"SCOUT_CRAWL_DOWNLOAD_DELAY": "0"})
        served = {h.path.split("?")[0] for h in site.log}
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Ran 10 contracts" in output and "OK" in output
    assert served == set(pages)  # every callback was checked against a real response


def test_scrapy_check_passes_offline_against_the_demo_site():
    """The loopback demo site serves the arXiv and SBIR.gov endpoints as the real ones answer."""
    from scout.demo.site import DemoSite

    with DemoSite() as site:
        result = scrapy("check", "arxiv", "sbir_topics", "-a", f"base_url={site.base_url}",
                        env={"SCOUT_CRAWL_DOWNLOAD_DELAY": "0"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Ran 4 contracts" in output and "OK" in output


def test_scrapy_check_fails_on_a_broken_source():
    pages = {"/api/query": Page(b"<feed xmlns='http://www.w3.org/2005/Atom'></feed>", "application/atom+xml")}
    with LoopbackSite(pages) as site:
        result = scrapy("check", "arxiv", "-a", f"base_url={site.url}", env={"SCOUT_CRAWL_DOWNLOAD_DELAY": "0"})
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


def test_contract_urls_are_rebased():
    assert rebase("http://export.arxiv.org/api/query?x=1", "http://export.arxiv.org", "http://127.0.0.1:9") == "http://127.0.0.1:9/api/query?x=1"
    assert rebase("http://export.arxiv.org/api/query", "http://export.arxiv.org", "http://export.arxiv.org") == "http://export.arxiv.org/api/query"
    assert rebase("https://prtimes.jp/index.rdf?a=b", "", "http://127.0.0.1:9") == "http://127.0.0.1:9/index.rdf?a=b"
    assert rebase("needs.yaml", "", "file:///srv/scout") == "file:///srv/scout/needs.yaml"
    # spiders whose public base_url is a start page (ATLA, DIU): the page itself, and pages beside it
    page = "https://www.mod.go.jp/atla/funding.html"
    assert rebase(page, page, "http://127.0.0.1:9/atla/funding.html") == "http://127.0.0.1:9/atla/funding.html"
    assert rebase(page + "?x=1", page, "http://127.0.0.1:9/f.html") == "http://127.0.0.1:9/f.html?x=1"
    assert rebase("https://www.mod.go.jp/atla/k/t.pdf", page, "http://127.0.0.1:9/f.html") == "http://127.0.0.1:9/atla/k/t.pdf"


def test_settings_module_follows_crawl_settings():
    env = {"SCOUT_CRAWL_CONTACT": "ops@example.org", "SCOUT_CRAWL_CONCURRENT_REQUESTS_PER_DOMAIN": "1",
           "SCOUT_CRAWL_MAX_PAGE_BYTES": "12345", "SCOUT_CRAWL_ROBOTSTXT_OBEY": "false", "SCOUT_HOME": "/srv/scout"}
    code = ("import json; from scrapy.utils.project import get_project_settings as g; s = g(); print(json.dumps("
            "[s['USER_AGENT'], s.getint('CONCURRENT_REQUESTS_PER_DOMAIN'), s.getint('DOWNLOAD_MAXSIZE'), "
            "s.getbool('ROBOTSTXT_OBEY'), s['HTTPCACHE_DIR'], s['HTTPCACHE_POLICY']]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, **env, "PYTHONPATH": str(ROOT), "SCRAPY_SETTINGS_MODULE": "spiders.settings"})
    ua, per_domain, maxsize, robots, cache_dir, policy = json.loads(out.stdout)
    assert ua == "dualscout/0.1 (+https://github.com/dualscout/dualscout; ops@example.org)"
    assert (per_domain, maxsize, robots) == (1, 12345, False)
    assert cache_dir == "/srv/scout/crawl/httpcache" and policy.endswith("RFC2616Policy")


def _allow_list(spider, monkeypatch, extra: str = "[]"):
    monkeypatch.setenv("SCOUT_CRAWL_ALLOWED_DOMAINS", extra)
    crawler = get_crawler(type(spider))
    crawler.spider = spider
    mw = AllowListMiddleware.from_crawler(crawler)
    mw.spider_opened(spider)
    return mw


def test_allow_list(monkeypatch):
    mw = _allow_list(ArxivSpider(), monkeypatch, '["mirror.example.org"]')
    mw.process_request(Request("http://export.arxiv.org/api/query"))
    mw.process_request(Request("https://eu.mirror.example.org/x"))  # subdomain of an allowed domain
    for url in ("http://evil.example/x", "http://arxiv.org.evil.example/x", "file:///etc/passwd"):
        with pytest.raises(IgnoreRequest, match="allow-list"):
            mw.process_request(Request(url, dont_filter=True))
    # an empty allow-list allows nothing (Scrapy's default would allow everything)
    with pytest.raises(IgnoreRequest):
        _allow_list(FeedsSpider(), monkeypatch).process_request(Request("http://anywhere.example/"))
    # only the needs-file spider reads local files
    _allow_list(NeedsFileSpider(path="/srv/needs.yaml"), monkeypatch).process_request(Request("file:///srv/needs.yaml"))


def _pipelines(spider):
    crawler = get_crawler(type(spider))
    crawler.spider = spider
    crawler.stats.open_spider()
    pipes = [cls.from_crawler(crawler) for cls in (ValidatePipeline, RejectsPipeline, DedupPipeline, BatchWriterPipeline)]
    for p in pipes:
        if hasattr(p, "open_spider"):
            p.open_spider()
    return crawler, pipes


def _feed(pipes, item):
    try:
        for p in pipes:
            item = p.process_item(item)
        return item
    except DropItem as exc:
        return exc


def _doc(n: int, text: str = "text") -> Document:
    return Document.make(kind="need", source="needs_file", source_id=f"n{n}", url=f"https://x.example/{n}", title=f"t{n}", text=text)


def test_pipelines_dedup_batch_and_state(scout_home):
    spider = NeedsFileSpider(path="/srv/needs.yaml")
    crawler, pipes = _pipelines(spider)
    assert isinstance(_feed(pipes, _doc(1)), Document)
    assert isinstance(_feed(pipes, _doc(1)), DropItem)  # same id twice in one crawl
    assert "empty text" in str(_feed(pipes, _doc(2, text="")))
    assert "http 500" in str(_feed(pipes, Reject(source="needs_file", url="https://x.example/3", reason="http 500")))
    batch_writer = pipes[3]
    part = batch_writer.part
    assert part.name.endswith(".jsonl.part") and part.exists()
    state_path = scout_home / "crawl" / "state.sqlite"
    assert CrawlState(state_path).count() == 0  # nothing committed before the batch is final
    for p in pipes:
        if hasattr(p, "close_spider"):
            p.close_spider()
    final = Path(crawler.stats.get_value("dualscout/batch_path"))
    assert final.exists() and not part.exists() and final.name.startswith("needs_file-")
    assert [json.loads(l)["source_id"] for l in final.read_text().splitlines()] == ["n1"]
    assert CrawlState(state_path).count("needs_file") == 1
    rejects = [json.loads(l) for l in (scout_home / "rejects.jsonl").read_text().splitlines()]
    assert [(r["url"], r["reason"]) for r in rejects] == [("https://x.example/2", "empty text"), ("https://x.example/3", "http 500")]
    assert crawler.stats.get_value("dualscout/new") == 1 and crawler.stats.get_value("dualscout/rejected") == 2

    # next crawl: n1 unchanged, n1 edited -> updated (keeps first_seen), n4 new
    crawler, pipes = _pipelines(spider)
    assert isinstance(_feed(pipes, _doc(1)), DropItem)
    crawler2, pipes2 = _pipelines(spider)
    updated = _feed(pipes2, _doc(1, text="new text"))
    assert isinstance(updated, Document) and crawler2.stats.get_value("dualscout/updated") == 1
    assert crawler.stats.get_value("dualscout/unchanged") == 1


def test_killed_crawl_commits_nothing(scout_home):
    """A crawl that dies before close leaves a .part file and no state: the next crawl re-emits."""
    spider = NeedsFileSpider(path="/srv/needs.yaml")
    _, pipes = _pipelines(spider)
    _feed(pipes, _doc(7))  # ... and the process is killed here: no close_spider
    crawler, pipes = _pipelines(spider)
    assert isinstance(_feed(pipes, _doc(7)), Document) and crawler.stats.get_value("dualscout/new") == 1


def test_settings_env_round_trip(monkeypatch):
    from domain.settings import CrawlSettings

    original = CrawlSettings(contact="a@b.c", feeds=["http://f.example/rss"], openalex_api_key="k", autothrottle=False)
    for key, value in settings_env(original).items():
        monkeypatch.setenv(key, value)
    copy = CrawlSettings()
    assert copy.model_dump() == original.model_dump() and copy.openalex_api_key.get_secret_value() == "k"


def test_scout_crawl_command(scout_home):
    from scout.commands.crawl import register

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    runner = CliRunner()
    unknown = runner.invoke(app, ["crawl", "nope"])
    assert unknown.exit_code == 2 and "unknown spider 'nope'" in unknown.output
    assert runner.invoke(app, ["crawl", "arxiv", "-a", "novalue"]).exit_code == 2
    # a real crawl of a file:// URL through the engine: good records in, bad ones to the rejects log
    needs = Path(__file__).resolve().parents[1] / "fixtures" / "spiders" / "needs_bad.yaml"
    result = runner.invoke(app, ["crawl", "needs_file", "-a", f"path={needs}"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("│"))
    assert [int(v) for v in row.strip("│ ").split("│")] == [1, 1, 0, 0, 5]  # fetched new updated unchanged rejected
    assert "batch: " in result.output and "rejects: " in result.output
    batch = next((scout_home / "inbox").glob("needs_file-*.jsonl"))
    assert json.loads(batch.read_text())["source_id"] == "ok-1"


def test_callback_exception_becomes_a_reject():
    from scrapy.http import TextResponse
    from scrapy.spidermiddlewares.httperror import HttpError

    from spiders.middlewares import RejectOnErrorMiddleware

    spider = ArxivSpider()
    crawler = get_crawler(ArxivSpider)
    crawler.spider = spider
    crawler.stats.open_spider()
    mw = RejectOnErrorMiddleware.from_crawler(crawler)
    page = TextResponse("http://export.arxiv.org/api/query", body=b"x")
    [reject] = mw.process_spider_exception(page, KeyError("published"))
    assert (reject.source, reject.url, reject.reason) == ("arxiv", page.url, "parse error: KeyError: 'published'")
    assert crawler.stats.get_value("dualscout/parse_errors") == 1
    assert mw.process_spider_exception(page, HttpError(page)) is None
