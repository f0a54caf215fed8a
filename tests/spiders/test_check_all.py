"""`scrapy check` for every spider, offline: each callback's contract runs against a loopback server
serving the saved answers of its source, at the path the public source uses."""

from __future__ import annotations

import pytest

from tests.spiders.loopback import LoopbackSite, Page
from tests.spiders.responses import fixture_bytes
from tests.spiders.test_project import scrapy

PAGES = {
    "/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
    "/works": Page(fixture_bytes("openalex_works_page1.json"), "application/json"),
    "/searchapi/do": Page(fixture_bytes("jstage_search.xml"), "application/xml"),
    "/article/jsaeronautics/1/0/1_1/_article/-char/ja/": Page(fixture_bytes("jstage_article.html")),
    "/opensearch/": Page(fixture_bytes("kaken_grants.xml"), "application/xml"),
    "/atla/funding.html": Page(fixture_bytes("atla_funding.html")),
    "/atla/funding/koubo/r07/r07_kenkyutheme.pdf": Page(fixture_bytes("atla_r07_themes.pdf"), "application/pdf"),
    "/work-with-us/open-solicitations": Page(fixture_bytes("diu_open_solicitations.html")),
    "/challenge-programme.html": Page(fixture_bytes("nato_diana_challenges.html")),
}
# spider -> (its base_url path on the loopback server, the pages its contracts fetch)
ENDPOINTS = {
    "openalex": ("/works", {"/works"}),
    "jstage": ("/searchapi/do", {"/searchapi/do", "/article/jsaeronautics/1/0/1_1/_article/-char/ja/"}),
    "kaken": ("/opensearch/", {"/opensearch/"}),
    "atla": ("/atla/funding.html", {"/atla/funding.html", "/atla/funding/koubo/r07/r07_kenkyutheme.pdf"}),
    "diu": ("/work-with-us/open-solicitations", {"/work-with-us/open-solicitations"}),
    "nato_diana": ("/challenge-programme.html", {"/challenge-programme.html"}),
}


@pytest.fixture(scope="module")
def site():
    with LoopbackSite(PAGES) as site:
        yield site


@pytest.mark.parametrize("spider", sorted(ENDPOINTS))
def test_scrapy_check_passes_offline(site, spider):
    path, pages = ENDPOINTS[spider]
    before = len(site.log)
    result = scrapy("check", spider, "-a", f"base_url={site.url}{path}",
                    env={"SCOUT_CRAWL_DOWNLOAD_DELAY": "0", "SCOUT_CRAWL_KAKEN_APPID": "test-appid"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "OK" in output and "Ran 0 contracts" not in output
    served = {h.path.split("?")[0] for h in site.log[before:]} - {"/robots.txt"}
    assert served == pages  # every callback was checked against a saved answer
