"""Run the main job on the demo bundle: the same flows a scheduled deployment runs, on loopback sources."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from scout.commands._console import concept_label
from scout.demo.site import DATA_DIR, DemoData, DemoSite
from domain.models import NeedMatches, SourceSpec
from domain.settings import scout_home


def demo_sources(base_url: str, home: Path) -> list[SourceSpec]:
    return [
        SourceSpec(spider="arxiv", args={"base_url": base_url,
                                         "query": "cat:cs.CV OR cat:cs.LG OR cat:cs.AI", "page_size": "100",
                                         "max_records": "1000"}),
        SourceSpec(spider="feeds", args={"feeds": f"{base_url}/feeds/announcements.rss,{base_url}/prtimes/technology.rdf",
                                         "max_items": "1000"}),
        SourceSpec(spider="jstage", args={"base_url": f"{base_url}/searchapi/do"}),
        SourceSpec(spider="kaken", args={"base_url": f"{base_url}/opensearch/"}),
        SourceSpec(spider="sbir_topics", args={"base_url": base_url}),
        SourceSpec(spider="needs_file", args={"path": str(home / "needs.yaml")}),
    ]


@contextmanager
def loopback_environment(home: Path):
    """Polite delays exist for real sites; the loopback demo site needs none. Only 127.0.0.1 is allowed.
    Values already set by the user win; everything is restored afterwards."""
    defaults = {
        "SCOUT_CRAWL_ALLOWED_DOMAINS": '["127.0.0.1"]',
        "SCOUT_CRAWL_DOWNLOAD_DELAY": "0",
        "SCOUT_CRAWL_AUTOTHROTTLE": "false",
        "SCOUT_CRAWL_CONCURRENT_REQUESTS_PER_DOMAIN": "8",
        "SCOUT_INDEX_KNOWN_SUPPLIERS_PATH": str(DATA_DIR / "known_suppliers.yaml"),
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        # the loopback KAKEN answers any application id; a real one is the user's own
        "SCOUT_CRAWL_KAKEN_APPID": "dualscout-demo",
    }
    added = [k for k in defaults if k not in os.environ]
    os.environ.update({k: defaults[k] for k in added})
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def matches_table(result: NeedMatches, top: int) -> Table:
    table = Table(title=f"[bold]{result.need.title}[/]  ({result.need.source})", title_justify="left",
                  show_lines=False, expand=True)
    # The bar under the score, not in a column of its own: at 80 columns (a pipe, CI) the organization and
    # concept columns had 7 characters and read "organi…", "conce…", "TECHNO… RESEAR…".
    # Titles fold: a Japanese title has no spaces to wrap at, and was cut to its first dozen characters ("原子干渉計を
    # 用いた小型 …") where an English one wrapped whole.
    table.add_column("#", justify="right", width=2)
    table.add_column("score", justify="right", width=8)
    table.add_column("technology", ratio=3, overflow="fold")
    table.add_column("organization", ratio=2, min_width=12, overflow="fold")
    table.add_column("shared concepts", ratio=2, min_width=12, overflow="fold")
    for m in result.matches[:top]:
        bar = "█" * max(1, round(8 * m.score))  # the absolute [0, 1] scale: a weak match looks weak
        table.add_row(str(m.rank), f"{m.score:.3f}\n[dim]{m.label}[/]\n[cyan]{bar}[/]", f"{m.title}\n[dim]{m.kind} · {m.source}[/]",
                      ", ".join(m.organizations[:2]), ", ".join(concept_label(c) for c in m.shared_concepts[:4]))
    return table


def overview_table(results: list[NeedMatches]) -> Table:
    """One row per need: its best match, so every need's result is on screen."""
    table = Table(title="[bold]Best match for every need[/]", title_justify="left", expand=True)
    table.add_column("need", ratio=2, overflow="fold")
    table.add_column("lang", width=4)
    table.add_column("best technology", ratio=3, overflow="fold")
    table.add_column("organization", ratio=2, min_width=12, overflow="fold")
    table.add_column("score", justify="right", width=14)
    for r in results:
        best = r.matches[0] if r.matches else None
        table.add_row(r.need.title, r.need.language or "", best.title if best else "[red]no match[/]",
                      ", ".join(best.organizations[:1]) if best else "", f"{best.score:.3f} {best.label}" if best else "")
    return table


def crosslingual_table(results: list[NeedMatches], languages: dict[str, str], top: int) -> Table:
    """Per need, its best match written in the other language (Japanese documents for English needs, English
    for Japanese), with its rank among the need's top matches and its score: the cross-lingual matching at a
    glance (a weak one reads weak: the best other-language document is not always a good match)."""
    table = Table(title=f"[bold]Matches across languages[/] (best other-language document in each need's top {top})",
                  title_justify="left", expand=True)
    table.add_column("need", ratio=2, overflow="fold")
    table.add_column("lang", width=4)
    table.add_column("#", justify="right", width=3)
    table.add_column("document in the other language", ratio=3, overflow="fold")
    table.add_column("lang", width=4)
    for r in results:
        own = r.need.language or "en"
        other = next((m for m in r.matches[:top] if languages.get(m.doc_id, own) != own), None)
        table.add_row(r.need.title, own, str(other.rank) if other else "",
                      f"{other.title}\n[dim]{other.kind} · {other.source}[/] · {other.score:.3f} {other.label}"
                      if other else "[dim]none[/]",
                      languages.get(other.doc_id, "") if other else "")
    return table


def run_demo(console: Console, needs_shown: int = 4, top: int = 5, data_dir: Path = DATA_DIR) -> dict:
    """The daily pipeline and the weekly report over the demo site, against a Prefect API server started and
    waited for here (never Prefect's 20-second ephemeral start), with progress bars for the long stages.
    Returns the pipeline's summary plus `report` (the .eml path) and `failed` (the pipeline's failure message,
    None when every stage completed)."""
    from scout.commands._console import counted
    from scout.commands._runs import prefect_api, quiet_prefect_console, stage_progress, totals_line

    home = scout_home()
    home.mkdir(parents=True, exist_ok=True)
    quiet_prefect_console()
    with loopback_environment(home):
        shutil.copyfile(data_dir / "needs.yaml", home / "needs.yaml")

        from flows.pipeline import pipeline
        from flows.report import weekly_report

        with prefect_api(console):
            with DemoSite(DemoData(data_dir)) as site:
                console.print(f"[bold]demo site[/] serving the bundled records on {site.base_url}")
                with stage_progress(console):
                    state = pipeline(sources=demo_sources(site.base_url, home), return_state=True)
            summary = state.result(raise_on_failure=False)
            if isinstance(summary, BaseException):
                raise summary
            with console.status("writing the weekly report…"):
                report_path = weekly_report()["eml"]

        from service.index_library import open_library

        with open_library() as library:
            # Japanese needs first: they show the cross-lingual matching
            needs = sorted(library.needs(), key=lambda n: (n.language != "ja", n.title))
            results = [library.match(need.id, limit=top) for need in needs]
            languages = {}
            for m in {m.doc_id for r in results for m in r.matches}:
                doc = library.document(m)
                languages[m] = (doc.language if doc else None) or "en"
        for result in results[:needs_shown]:
            console.print(matches_table(result, top))
        console.print(overview_table(results))
        console.print(crosslingual_table(results, languages, top))
        crossing = sum(1 for r in results for m in r.matches[:top]
                       if languages.get(m.doc_id) != (r.need.language or "en"))
        summary["crosslingual_matches"] = crossing
        console.print(f"{counted(len(needs), 'need')} ranked; {totals_line(summary)}.")
    summary["report"] = report_path
    summary["failed"] = state.message if state.is_failed() else None
    return summary
