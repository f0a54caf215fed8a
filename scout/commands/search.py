"""Analyst queries: `scout search`, `scout needs`, `scout match`, `scout org`, `scout export matches`.

Every command prints a Rich table by default and, with `--json`, the library's own models as
`model_dump(mode="json")` (the same documents the JSON API returns).
"""

from __future__ import annotations

import csv
import os
import io
import json
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, Iterator, Optional

import typer

from scout.commands._console import area_label, concept_label, counted, echo_json, fail, make_console, shortened
from scout.commands._library import command_library as _library
from service.queries import BadQuery, UnknownNeed, build_filters, resolve_need
from service.csv_cells import BOM, csv_cell
from domain.labels import source_label
from service.library import Library


class KindChoice(str, Enum):
    research = "research"
    startup = "startup"
    need = "need"


class LangChoice(str, Enum):
    ja = "ja"
    en = "en"
    other = "other"


class ExportFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"


_BLOCKS = " ▏▎▍▌▋▊▉█"


def score_bar(value: float, top: float = 1.0, width: int = 10) -> str:
    """A fixed-width bar for `value` on a scale of `top` (eighth-block resolution)."""
    top = top if top > 0 else 1.0
    frac = min(1.0, max(0.0, value / top))
    eighths = round(frac * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (_BLOCKS[part] if part else "")).ljust(width)


LABEL_STYLE = {"strong": "bold green", "moderate": "yellow", "weak": "dim"}


def score_cell(score: float, label: str) -> str:
    """The score on its absolute [0, 1] scale (a weak match looks weak), with its label."""
    return f"[green]{score_bar(score, 1.0, 8)}[/] {score:.3f} [{LABEL_STYLE.get(label, '')}]{label}[/]"


def contributions_text(breakdown: Any, judgement: str | None = None) -> str:
    """The score's parts that are not zero, signed, in the breakdown's order (they add up to the score)."""
    parts = [f"{name.replace('_', ' ')} {value:+.3f}" for name, value in breakdown.contributions().items()
             if round(value, 3)]
    text = "\n".join(" · ".join(parts[i : i + 3]) for i in range(0, len(parts), 3))
    if judgement == "not_relevant":
        text += "\njudged not relevant: listed last"
    elif getattr(breakdown, "moved", 0):  # not a part of the score: said only where judgements changed its place
        text += f"\njudgements moved it {'up' if breakdown.moved > 0 else 'down'} (order only)"
    return text


def _console():
    return make_console(soft_wrap=False)


def _day(value: Any) -> str:
    """A publication day in the display zone (SCOUT_REPORT_TIMEZONE), as the pages and the mail show it."""
    from domain.times import shown_day

    return shown_day(value)


def _need_about(need: Any) -> str:
    """A need's source · language · date · organizations, the parts it has (`scout needs`, `scout match`)."""
    return " · ".join(x for x in (source_label(need.source), need.language or "", _day(need.published), ", ".join(need.organizations))
                      if x)


def search(
    query: str = typer.Argument(..., help="Free text, Japanese or English."),
    kind: Optional[KindChoice] = typer.Option(None, "--kind", help="Only this kind of document."),
    lang: Optional[LangChoice] = typer.Option(None, "--lang", help="Only this language."),
    since: Optional[str] = typer.Option(None, "--since", help="Published on or after (YYYY, YYYY-MM or YYYY-MM-DD)."),
    until: Optional[str] = typer.Option(None, "--until", help="Published on or before (YYYY, YYYY-MM or YYYY-MM-DD)."),
    concept: Optional[str] = typer.Option(None, "--concept", help="A taxonomy concept by its id: radar-absorbing-material for the concept labelled radar absorbing material (the concept facet below a search names each concept, with its id where it is not the label with hyphens)."),
    area: Optional[str] = typer.Option(None, "--area", help="Critical-technology area id, e.g. jp-materials (the area facet below a search names each area with its id)."),
    source: Optional[str] = typer.Option(None, "--source", help="Source name, e.g. arxiv or sbir_topics (the source facet below a search names each source, with this name where it differs: SBIR topics (sbir_topics))."),
    org: Optional[str] = typer.Option(None, "--org", help="Only documents of this organization (name or key)."),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="Most hits to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (query, hits, facets)."),
) -> None:
    """Search research results, startups and needs.

    Example: scout search "radar absorbing metamaterial" --kind research --since 2024
    """
    try:
        filters = build_filters(
            kind=kind.value if kind else None, language=lang.value if lang else None, since=since, until=until,
            concept=concept, area=area, source=source, organization=org,
        )
    except BadQuery as exc:
        raise typer.BadParameter(str(exc)) from None
    with _library() as library:
        result = library.search(query, filters, limit=limit)
    if as_json:
        echo_json(result.model_dump(mode="json"))
        return
    from rich.table import Table

    # Browsing by filters alone (a blank query) lists the newest first: there is no match strength to show, as
    # on the search page (this table had shown "0.000 weak" beside every document).
    browsing = not query.strip()
    summary = result.summary(limit)
    title = summary[0].upper() + summary[1:] + ("" if browsing else f" for {query!r}")
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("#", justify="right", no_wrap=True)
    if not browsing:
        table.add_column("score", no_wrap=True)
    table.add_column("document", ratio=1, min_width=24, overflow="fold")
    table.add_column("id", no_wrap=True)
    for i, hit in enumerate(result.hits, start=1):
        meta = " · ".join(x for x in (hit.kind.value, source_label(hit.source), hit.language or "", _day(hit.published),
                                      ", ".join(hit.organizations)) if x)
        score = score_cell(hit.score, hit.label) + (f"\n[dim]{hit.held.note(sep=chr(10))}[/]" if hit.held else "")
        table.add_row(str(i), *([] if browsing else [score]),
                      f"{_escape(hit.title)}\n[dim]{_escape(meta)}[/]"
                      + (f"\n[dim]versions: {_escape(', '.join(v.label for v in hit.versions))}[/]" if hit.versions else ""),
                      hit.doc_id[:8])
    console = _console()
    console.print(table)
    if not result.hits:
        console.print("No hits. Try fewer filters or other words.")
    for facet, counts in result.facets.items():
        if counts:
            glosses = result.term_glosses if facet in TERM_FACET_NAMES else {}
            shown = " · ".join(f"{_facet_value(facet, value)}"
                               + (f" [dim]({_escape(glosses[value])})[/]" if value in glosses else "") + f" {count}"
                               for value, count in list(counts.items())[:8])
            console.print(f"[dim]{TERM_FACET_NAMES.get(facet, facet)}:[/] {shown}")


# A term facet under the name the search page gives it
TERM_FACET_NAMES = {"method": "technology / method", "material": "material", "task": "task / application"}


def _facet_value(facet: str, value: str) -> str:
    """A facet value as the search page names it (a concept or an area by its label), with the id that
    `--concept`, `--area` and `--source` take beside it where it is not the label written with hyphens, as
    --concept's help explains: "unmanned aerial vehicle (uav)", "Robotics (jp-robotics)", "J-STAGE (jstage)",
    but "radar absorbing material", "arXiv"."""
    label = {"concept": concept_label, "area": area_label, "source": source_label}.get(facet, lambda v: v)(value)
    hyphenated = "-".join(label.lower().split())
    return _escape(label) + (f" [dim]({_escape(value)})[/]" if hyphenated != value else "")


def _escape(text: str) -> str:
    """Crawled text may contain Rich markup such as `[bold]`; print it literally."""
    from rich.markup import escape

    return escape(text)


def needs(as_json: bool = typer.Option(False, "--json", help="Print the needs as JSON documents.")) -> None:
    """List the published defense needs in the index, by source, then title.

    Example: scout needs --json
    """
    with _library() as library:
        docs = library.needs()
    if as_json:
        echo_json([d.model_dump(mode="json") for d in docs])
        return
    from rich.table import Table

    table = Table(title=counted(len(docs), "need"), title_justify="left", show_lines=True)
    table.add_column("need", ratio=1, min_width=24, overflow="fold")
    table.add_column("id", no_wrap=True)
    for d in docs:
        # the id as every other table shows it: its first 8 characters, a prefix every command takes (the whole
        # UUID took 36 of 80 columns from the titles)
        table.add_row(f"{_escape(d.title)}\n[dim]{_escape(_need_about(d))}[/]", d.id[:8])
    _console().print(table)


def match(
    need_id: str = typer.Argument(..., help="A need id from `scout needs`, or a unique prefix of it (4+ characters)."),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="Most matches to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the need, its matches and organizations as JSON."),
) -> None:
    """Show the technologies and organizations that best answer one need, with score breakdowns.

    Example: scout match 3f2a9c1e --limit 10
    """
    with _library() as library:
        try:
            need_id = resolve_need(library, need_id)
        except (BadQuery, UnknownNeed) as exc:
            raise typer.BadParameter(f"{exc} (list them with `scout needs`)", param_hint="NEED_ID") from None
        try:
            result = library.match(need_id, limit=limit)
        except KeyError:
            raise typer.BadParameter(f"unknown need id {need_id!r}", param_hint="NEED_ID") from None
    if as_json:
        echo_json(result.model_dump(mode="json"))
        return
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{_escape(result.need.title)}[/]  [dim]{_escape(_need_about(result.need))}[/]")
    # the matches asked for, then those judged not relevant, listed last and counted apart ("3 matches" for
    # --limit 3, as the page shows them, not "4 matches")
    rejected = sum(1 for m in result.matches if m.judgement == "not_relevant")
    title = counted(len(result.matches) - rejected, "match", "matches")
    if rejected:
        title += f" (and {rejected} judged not relevant, listed last)"
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("score", no_wrap=True)
    table.add_column("technology", ratio=3, min_width=24, overflow="fold")
    table.add_column("why", ratio=2, min_width=18, overflow="fold")
    for m in result.matches:
        b = m.breakdown
        meta = " · ".join(x for x in ((m.kind.value if m.kind else ""), source_label(m.source), _day(m.published),
                                      ", ".join(m.organizations), m.doc_id[:8]) if x)
        new = " [yellow]new[/]" if m.is_new else ""
        if m.judgement:
            new += f" [magenta]{m.judgement.replace('_', ' ')}[/]"
        why = contributions_text(b, m.judgement)
        if m.shared_concepts:
            # named as the need page names them (their labels); the ids are what --concept takes
            why += f"\n[cyan]{_escape(', '.join(concept_label(c) for c in m.shared_concepts))}[/]"
        versions = f"\n[dim]versions: {_escape(', '.join(v.label for v in m.versions))}[/]" if m.versions else ""
        table.add_row(str(m.rank), score_cell(m.score, m.label),
                      f"{_escape(m.title)}{new}\n[dim]{_escape(meta)}[/]{versions}", why)
    console.print(table)
    if result.organizations:
        # scored over the need's best ORGANIZATION_DEPTH matches whatever --limit, as on every face (the library
        # that answered is loaded: this costs a cold command nothing)
        from service.index_library import ORGANIZATION_DEPTH

        orgs = Table(title=f"{counted(len(result.organizations), 'organization')} behind the best "
                           f"{ORGANIZATION_DEPTH} matches", title_justify="left")
        for col in ("score", "organization", "documents", "status"):
            orgs.add_column(col, no_wrap=True)
        otop = max(o.score for o in result.organizations)
        for o in result.organizations:
            orgs.add_row(f"[cyan]{score_bar(o.score, otop)}[/] {o.score:.3f}", _escape(o.name), str(len(o.doc_ids)),
                         _org_status(o))
        console.print(orgs)


def _org_status(o: Any) -> str:
    """known supplier / issuer / new entrant, and the type when it is not a company."""
    status = ("known supplier" if o.known_supplier else "issuer" if o.issuer
              else "[yellow]new entrant[/]" if o.new_entrant else "")
    kind = o.org_type if o.org_type != "company" else ""
    return " · ".join(x for x in (status, kind) if x) or "organization"


def org(
    name: str = typer.Argument(..., help="Organization name or key."),
    as_json: bool = typer.Option(False, "--json", help="Print the organization profile as JSON."),
) -> None:
    """Show an organization: known supplier or new entrant, its documents and the needs it answers.

    Example: scout org "Tohoku University"
    """
    with _library() as library:
        profile = library.organization(name)
        ranked_at = library.match_run_time() if profile is not None and profile.needs else None
    if profile is None:
        fail(f"no organization called {name!r} in the index")
    if as_json:
        echo_json(profile.model_dump(mode="json"))
        return
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{_escape(profile.name)}[/]  ({profile.key}) — {_org_status(profile)}")
    if len(profile.names) > 1:
        console.print(f"also written: {_escape(', '.join(profile.names[1:]))}")
    for e in profile.evidence:
        console.print(f"  evidence: {_escape(shortened(e.title, 60))} ({source_label(e.source)}, {_escape(e.reason)}) {e.doc_id[:8]}")
    if profile.listed:
        console.print("  evidence: on the known-suppliers list")
    docs = Table(title=counted(len(profile.documents), "document"), title_justify="left")
    for col in ("kind", "published", "title", "id"):
        docs.add_column(col, no_wrap=col != "title", overflow="fold")
    for h in profile.documents:
        docs.add_row(h.kind.value, _day(h.published), _escape(shortened(h.title)), h.doc_id[:8])
    console.print(docs)
    if profile.needs:
        from domain.times import shown

        # read from the match ledger, as the organization page does: say from which run
        when = f" (scores from the last match run, {shown(ranked_at)})" if ranked_at else ""
        table = Table(title=f"needs it answers{when}", title_justify="left")
        for col in ("score", "need", "id"):
            table.add_column(col, no_wrap=col != "need", overflow="fold")
        top = max(n.score for n in profile.needs)
        for n in profile.needs:  # a need's id as every table shows it: its first 8 characters, a prefix commands take
            table.add_row(f"[green]{score_bar(n.score, top)}[/] {n.score:.3f}", _escape(shortened(n.name)), n.key[:8])
        console.print(table)


EXPORT_COLUMNS = [
    "need_id", "need_title", "rank", "doc_id", "title", "kind", "source", "url", "organizations", "published",
    "score", "label", "judgement", "dense", "sparse", "multilingual", "generic", "generic_lexical", "concept",
    "recency", "kind_score",
    "feedback", "clipped", "similarity", "bm25",
    "shared_concepts", "is_new", "need_evidence", "doc_evidence", "versions",
]


def export_matches(
    fmt: ExportFormat = typer.Option(..., "--format", help="csv (one row per match) or jsonl (one JSON object per match, as the API gives it)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write; default standard output."),
    limit_per_need: int = typer.Option(20, "--limit-per-need", min=1, max=1000, help="Top matches per need."),
) -> None:
    """Export the ranked matches of every need.

    Example: scout export matches --format csv --output matches.csv
    """
    with _library() as library:
        titles = {d.id: d.title for d in library.needs()}
        matches = list(library.all_matches(limit_per_need=limit_per_need))
    buf = io.StringIO()
    if fmt is ExportFormat.jsonl:
        for m in matches:
            buf.write(json.dumps(m.model_dump(mode="json"), ensure_ascii=False) + "\n")
    else:
        writer = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for m in matches:
            b = m.breakdown
            row = {
                "need_id": m.need_id, "need_title": titles.get(m.need_id, ""), "rank": m.rank, "doc_id": m.doc_id,
                "title": m.title, "kind": m.kind.value if m.kind else "", "source": m.source, "url": m.url,
                "organizations": "; ".join(m.organizations),
                "published": m.published.isoformat() if m.published else "", "score": m.score, "label": m.label,
                "judgement": (m.judgement or "").replace("_", " "),
                **{part: value for part, value in b.contributions().items() if part != "kind"},
                "kind_score": b.kind, "feedback": b.feedback, "similarity": b.similarity, "bm25": b.bm25,
                "shared_concepts": "; ".join(m.shared_concepts), "is_new": m.is_new,
                "need_evidence": m.need_evidence.text if m.need_evidence else "",
                "doc_evidence": m.doc_evidence.text if m.doc_evidence else "",
                "versions": "; ".join(f"{v.label} {v.doc_id}" for v in m.versions),
            }
            writer.writerow({k: csv_cell(v) for k, v in row.items()})
    # CSV is for spreadsheets: a UTF-8 BOM like the report's attachment (Excel in Japan); JSONL stays plain.
    data = (BOM if fmt is ExportFormat.csv else "") + buf.getvalue()
    if output is None:
        typer.echo(data, nl=False)
    else:
        try:
            output.write_text(data, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        typer.echo(f"wrote {len(matches)} matches to {output}", err=True)


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("needs")(needs)
    app.command("match")(match)
    app.command("org")(org)
    export_app = typer.Typer(
        help="Export results for spreadsheets and other tools.\n\nExample: scout export matches --format jsonl",
        no_args_is_help=True,
    )
    export_app.command("matches")(export_matches)
    app.add_typer(export_app, name="export")
