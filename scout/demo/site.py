"""A loopback HTTP server that serves the demo bundle in the real published formats of each source:
the arXiv API (Atom), small-business technology announcements (RSS 2.0 + article pages), DoD SBIR
topics (SBIR.gov solicitations JSON), and the Japanese slice: J-STAGE WebAPI search results (XML) with
article pages (citation meta tags), KAKEN grant records (OpenSearch XML) and a PR TIMES category feed
(RSS 1.0) with release pages. The real spiders crawl it exactly as they crawl the live sites."""

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
    def japanese(self) -> dict:
        """The Japanese slice (written by the maintainers; see its `note`): jstage, kaken, prtimes records."""
        path = self.data_dir / "japanese.json"
        if not path.exists():
            return {"jstage": [], "kaken": [], "prtimes": []}
        return json.loads(path.read_text(encoding="utf-8"))

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
        if url.path == "/searchapi/do":
            return self._send(_jstage_search(data.japanese["jstage"], params, base), "text/xml; charset=utf-8")
        if url.path.startswith("/article/"):
            for row in data.japanese["jstage"]:
                if url.path.startswith(f"/article/{row['cdjournal']}/{row['id']}/"):
                    return self._send(_jstage_article(row), "text/html; charset=utf-8")
        if url.path.rstrip("/") == "/opensearch":
            return self._send(_kaken_grants(data.japanese["kaken"], params), "application/xml; charset=utf-8")
        if url.path == "/prtimes/technology.rdf":
            return self._send(_prtimes_rdf(data.japanese["prtimes"], base), "application/rdf+xml; charset=utf-8")
        if url.path.startswith("/main/html/rd/p/") and url.path.endswith(".html"):
            release = url.path[len("/main/html/rd/p/"):-len(".html")]
            for row in data.japanese["prtimes"]:
                if row["id"] == release:
                    return self._send(_prtimes_release(row), "text/html; charset=utf-8")
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


def _words_match(text: str, query: str) -> bool:
    """Every blank-separated word of the query appears in the text (J-STAGE and KAKEN AND their words)."""
    return all(w.lower() in text.lower() for w in query.split())


def _jstage_search(rows: list[dict], params: dict, base: str) -> str:
    """J-STAGE WebAPI service=3 (article search) answer: Atom-like XML, ja/en titles, no abstract."""
    keyword = params.get("keyword", "")
    hits = [r for r in rows if _words_match(" ".join([r["title_ja"], r["title_en"], r["abstract"], *r["keywords"]]),
                                            keyword)]
    start, count = max(1, int(params.get("start", 1))), max(1, int(params.get("count", 20)))
    entries = []
    for row in hits[start - 1:start - 1 + count]:
        link = f"{base}/article/{row['cdjournal']}/{row['id']}/_article"
        names = lambda key: "".join(f"<name>{escape(n)}</name>" for n in row[key])  # noqa: E731
        entries.append(
            "<entry>"
            f"<article_title><en><![CDATA[{row['title_en']}]]></en><ja><![CDATA[{row['title_ja']}]]></ja></article_title>"
            f"<article_link><en>{escape(link)}</en><ja>{escape(link)}/-char/ja</ja></article_link>"
            f"<author><en>{names('authors_en')}</en><ja>{names('authors_ja')}</ja></author>"
            f"<cdjournal>{escape(row['cdjournal'])}</cdjournal>"
            f"<material_title><en><![CDATA[{row['journal_en']}]]></en><ja><![CDATA[{row['journal_ja']}]]></ja>"
            "</material_title>"
            f"<pubyear>{row['published'][:4]}</pubyear><prism:doi>{escape(row['doi'])}</prism:doi>"
            "<systemname>J-STAGE</systemname></entry>")
    status = "0" if hits else "ERR_001"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
            'xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/" xml:lang="ja">'
            f"<result><status>{status}</status><message/></result><title>J-STAGE WebAPI (dualscout demo)</title>"
            f"<servicecd>3</servicecd><opensearch:totalResults>{len(hits)}</opensearch:totalResults>"
            f"<opensearch:startIndex>{start}</opensearch:startIndex>"
            f"<opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>" + "".join(entries) + "</feed>")


def _jstage_article(row: dict) -> str:
    """A J-STAGE article page: the citation meta tags the spider reads (abstract, affiliations, date)."""
    metas = [("title", row["title_ja"]), ("journal_title", row["journal_ja"]), ("abstract", row["abstract"]),
             ("publication_date", row["published"]), ("keywords", ", ".join(row["keywords"]))]
    metas += [("authors", a) for a in row["authors_ja"]]
    metas += [("authors_institutions", i) for i in row["institutions"]]
    tags = "".join(f'<meta name="{n}" content="{html.escape(v)}">' for n, v in metas)
    return (f'<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{html.escape(row["title_ja"])}'
            f"</title>{tags}</head><body><h1>{html.escape(row['title_ja'])}</h1>"
            f"<p>{html.escape(row['abstract'])}</p></body></html>")


def _kaken_grants(rows: list[dict], params: dict) -> str:
    """KAKEN OpenSearch `format=xml`: grantAward records with ja/en summaries and the research outline."""
    hits = [r for r in rows if _words_match(" ".join([r["title_ja"], r["title_en"], r["outline_ja"], *r["keywords"]]),
                                            params.get("kw", ""))]
    st, rw = max(1, int(params.get("st", 1))), max(1, int(params.get("rw", 20)))
    awards = []
    for row in hits[st - 1:st - 1 + rw]:
        period = (f'<periodOfAward><startDate>{row["start_year"]}-04-01</startDate>'
                  f"<startFiscalYear>{row['start_year']}</startFiscalYear>"
                  f"<endFiscalYear>{row['end_year']}</endFiscalYear></periodOfAward>")
        keywords = "".join(f'<keyword sequence="{i}">{escape(k)}</keyword>' for i, k in enumerate(row["keywords"], 1))
        awards.append(
            f'<grantAward id="{escape(row["id"])}" awardNumber="{escape(row["award_number"])}" projectType="project">'
            f'<summary xml:lang="ja"><title>{escape(row["title_ja"])}</title>'
            f'<institution sequence="1">{escape(row["institution_ja"])}</institution>'
            f'<member sequence="1" role="principal_investigator"><personalName><fullName>{escape(row["investigator"])}'
            f"</fullName></personalName></member>{period}</summary>"
            f'<summary xml:lang="en"><title>{escape(row["title_en"])}</title>'
            f'<institution sequence="1">{escape(row["institution_en"])}</institution></summary>'
            f'<keywordList xml:lang="ja">{keywords}</keywordList>'
            f'<paragraphList type="outline_of_research_initial" xml:lang="ja" sequence="1">'
            f'<paragraph sequence="1">{escape(row["outline_ja"])}</paragraph></paragraphList></grantAward>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<grantAwards>'
            f"<totalResults>{len(hits)}</totalResults><startIndex>{st}</startIndex>"
            f"<itemsPerPage>{len(awards)}</itemsPerPage>" + "".join(awards) + "</grantAwards>")


def _prtimes_rdf(rows: list[dict], base: str) -> str:
    """A PR TIMES category feed: RSS 1.0 (RDF), one item per release, description = its first paragraph."""
    links = [f"{base}/main/html/rd/p/{r['id']}.html" for r in rows]
    seq = "".join(f'<rdf:li rdf:resource="{escape(link)}"/>' for link in links)
    items = "".join(
        f'<item rdf:about="{escape(link)}"><title>{escape(r["title"])}</title><link>{escape(link)}</link>'
        f"<description>{escape(r['paragraphs'][0])}</description><dc:date>{r['published']}</dc:date>"
        f"<dc:subject>{escape(r['category'])}</dc:subject></item>"
        for r, link in zip(rows, links))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rdf:RDF xmlns="http://purl.org/rss/1.0/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xml:lang="ja">'
            f'<channel rdf:about="{base}/prtimes/"><title>テクノロジー - PR TIMES (dualscout demo)</title>'
            f"<link>{base}/prtimes/</link><description>デモ用に作成したプレスリリース（実在しない企業）</description>"
            f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>{items}</rdf:RDF>")


def _prtimes_release(row: dict) -> str:
    """A PR TIMES release page: the company as JSON-LD author, the release text as paragraphs."""
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": row["title"],
            "datePublished": row["published"], "author": {"@type": "Organization", "name": row["company"]},
            "publisher": {"@type": "Organization", "name": "PR TIMES"}}
    ld = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in row["paragraphs"])
    return ('<!doctype html><html lang="ja"><head><meta charset="utf-8">'
            f"<title>{html.escape(row['title'])} | {html.escape(row['company'])}のプレスリリース</title>"
            '<meta property="og:site_name" content="PR TIMES">'
            f'<meta property="og:title" content="{html.escape(row["title"])}">'
            f'<script type="application/ld+json">{ld}</script></head><body>'
            '<header><nav><a href="/">PR TIMES</a></nav></header><main><article>'
            f"<h1>{html.escape(row['title'])}</h1>{paragraphs}</article></main>"
            "<footer>dualscout demo: a release written by the maintainers, not a real one.</footer></body></html>")


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
