"""A loopback HTTP server that serves the demo bundle in the real published formats of each source:
the arXiv API (Atom), small-business technology announcements (RSS 2.0 + article pages) and DoD SBIR
topics (SBIR.gov solicitations JSON). The real spiders crawl it exactly as they crawl the live sites."""

from __future__ import annotations

import html
import json
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

DATA_DIR = Path(__file__).with_name("data")
EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


class DemoData:
    def __init__(self, data_dir: Path = DATA_DIR) -> None:
        self.data_dir = data_dir

    def _jsonl(self, name: str) -> list[dict]:
        with (self.data_dir / name).open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    @cached_property
    def arxiv(self) -> list[dict]:
        rows = self._jsonl("arxiv.jsonl")
        for i, row in enumerate(rows):  # the sample carries no dates: spread them over the last months
            row["published"] = (EPOCH + timedelta(days=i % 300, hours=i % 7)).isoformat().replace("+00:00", "Z")
        return rows

    @cached_property
    def announcements(self) -> list[dict]:
        rows = self._jsonl("announcements.jsonl")
        for i, row in enumerate(rows):
            row["published"] = EPOCH + timedelta(days=(i * 3) % 320, hours=i % 9)
        return rows

    @cached_property
    def solicitations(self) -> list[dict]:
        return json.loads((self.data_dir / "sbir_topics.json").read_text(encoding="utf-8"))


def _arxiv_matches(row: dict, query: str) -> bool:
    """A small subset of arXiv's search_query syntax: `cat:X`, `all:word`, joined by AND / OR."""
    if not query.strip():
        return True
    text = f"{row['title']} {row['summary']}".lower()

    def term(t: str) -> bool:
        field, _, value = t.partition(":")
        value = value.strip('"').lower()
        if field == "cat":
            return any(c.lower().startswith(value) for c in row["categories"])
        if field in ("all", "ti", "abs"):
            return all(w in text for w in value.split())
        return t.lower() in text

    for alternative in query.split(" OR "):
        if all(term(t.strip()) for t in alternative.split(" AND ") if t.strip()):
            return True
    return False


class _Handler(BaseHTTPRequestHandler):
    server: "DemoSite"

    def log_message(self, format: str, *args) -> None:  # quiet: the crawl prints its own summary
        pass

    def _send(self, body: str | bytes, content_type: str, status: int = 200) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        data = self.server.data
        base = self.server.base_url
        if url.path == "/robots.txt":
            return self._send("User-agent: *\nDisallow: /private/\n", "text/plain")
        if url.path == "/api/query":
            return self._send(self._arxiv_feed(data, params, base), "application/atom+xml; charset=utf-8")
        if url.path == "/feeds/announcements.rss":
            return self._send(self._rss(data, base), "application/rss+xml; charset=utf-8")
        if url.path.startswith("/news/") and url.path.endswith(".html"):
            slug = url.path[len("/news/"):-len(".html")]
            for row in data.announcements:
                if row["id"] == slug:
                    return self._send(self._article(row), "text/html; charset=utf-8")
        if url.path == "/public/api/solicitations":
            start, rows = int(params.get("start", 0)), int(params.get("rows", 25))
            page = data.solicitations[start:start + rows]
            return self._send(json.dumps(page, ensure_ascii=False), "application/json; charset=utf-8")
        if url.path.startswith("/topics/"):
            code = url.path.rsplit("/", 1)[-1]
            for sol in data.solicitations:
                for topic in sol["solicitation_topics"]:
                    if topic["topic_number"] == code:
                        body = (f"<html><head><title>{html.escape(topic['topic_title'])}</title></head><body>"
                                f"<h1>{html.escape(topic['topic_title'])}</h1>"
                                f"<p>{html.escape(topic['topic_description'])}</p></body></html>")
                        return self._send(body, "text/html; charset=utf-8")
        self._send("not found", "text/plain", status=404)

    @staticmethod
    def _arxiv_feed(data: DemoData, params: dict, base: str) -> str:
        rows = [r for r in data.arxiv if _arxiv_matches(r, params.get("search_query", ""))]
        start, size = int(params.get("start", 0)), int(params.get("max_results", 10))
        entries = []
        for row in rows[start:start + size]:
            abs_url = f"{base}/abs/{row['id']}v1"
            cats = "".join(f'<category term="{escape(c)}" scheme="http://arxiv.org/schemas/atom"/>'
                           for c in row["categories"])
            primary = escape(row["categories"][0]) if row["categories"] else "cs.LG"
            entries.append(
                f"<entry><id>{abs_url}</id><updated>{row['published']}</updated>"
                f"<published>{row['published']}</published><title>{escape(row['title'])}</title>"
                f"<summary>{escape(row['summary'])}</summary>"
                f'<link href="{abs_url}" rel="alternate" type="text/html"/>'
                f'<link title="pdf" href="{base}/pdf/{row["id"]}v1" rel="related" type="application/pdf"/>'
                f'<arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="{primary}" '
                f'scheme="http://arxiv.org/schemas/atom"/>{cats}</entry>')
        os_ns = 'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f'<link href="{base}/api/query" rel="self" type="application/atom+xml"/>'
            f'<title type="html">ArXiv Query: {escape(params.get("search_query", ""))}</title>'
            f"<id>{base}/api/query</id><updated>{EPOCH.isoformat()}</updated>"
            f"<opensearch:totalResults {os_ns}>{len(rows)}</opensearch:totalResults>"
            f"<opensearch:startIndex {os_ns}>{start}</opensearch:startIndex>"
            f"<opensearch:itemsPerPage {os_ns}>{size}</opensearch:itemsPerPage>"
            + "".join(entries) + "</feed>")

    @staticmethod
    def _rss(data: DemoData, base: str) -> str:
        items = []
        for row in data.announcements:
            first = row["text"].split(". ")[0][:300]
            items.append(
                f"<item><title>{escape(row['title'])}</title><link>{base}/news/{row['id']}.html</link>"
                f"<guid isPermaLink=\"false\">{escape(row['id'])}</guid>"
                f"<pubDate>{format_datetime(row['published'])}</pubDate>"
                f"<dc:creator>{escape(row['company'])}</dc:creator>"
                f"<description>{escape(first)}</description></item>")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
                "<title>Small-business technology announcements (dualscout demo)</title>"
                f"<link>{base}/news/</link><description>SBIR award abstracts as announcements</description>"
                + "".join(items) + "</channel></rss>")

    @staticmethod
    def _article(row: dict) -> str:
        company = html.escape(row["company"])
        paragraphs = "".join(f"<p>{html.escape(p.strip())}</p>" for p in row["text"].split("\n") if p.strip())
        return (
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(row['title'])}</title>"
            f'<meta name="author" content="{company}">'
            f'<meta property="og:title" content="{html.escape(row["title"])}">'
            f'<meta property="article:published_time" content="{row["published"].isoformat()}">'
            f'<script type="application/ld+json">{_json_ld(row)}</script>'
            "</head><body><header><nav><a href=\"/news/\">News</a></nav></header>"
            f"<article><h1>{html.escape(row['title'])}</h1>"
            f'<p class="byline">{company} &middot; {html.escape(row["agency"])} {html.escape(row["phase"])} award, '
            f"{row['year']}</p>{paragraphs}</article>"
            "<footer>Source: SBIR.gov award records (public domain).</footer></body></html>")


def _json_ld(row: dict) -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": row["title"],
            "datePublished": row["published"].isoformat(),
            "author": {"@type": "Organization", "name": row["company"]}}
    # "</" must not close the script element early
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


class DemoSite(ThreadingHTTPServer):
    """`with DemoSite() as site: site.base_url` serves the bundle on 127.0.0.1 on a free port."""

    daemon_threads = True

    def __init__(self, data: DemoData | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.data = data or DemoData()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "DemoSite":
        self._thread = threading.Thread(target=self.serve_forever, name="demo-site", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
