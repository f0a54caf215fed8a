"""`scout report`: build the weekly report and send it (or write it to the outbox)."""

from __future__ import annotations

import typer

from scout.commands._console import cell, fail
from scout.commands._library import LibraryUnavailable, library_session

HELP = """Build the weekly report of what is new and e-mail it to the profile's recipients.

A report covers its ISO week (Monday to Sunday in SCOUT_REPORT_TIMEZONE; up to now while the week runs; named after last week when sent on Monday morning; the first report holds everything up to now), and starts earlier when the last report delivered to the profile ended earlier; a re-run of a week says which of its matches are new since the last delivery. With no SMTP host configured (SCOUT_REPORT_SMTP_HOST) the report is written to the outbox folder (.eml, .html, .csv) and its path printed; the outbox keeps every report, sent or not. --week rebuilds any past ISO week from the ledger.

[bold]Example[/bold]: scout report --week 2026-W47 --no-send --open
"""


def register(app: typer.Typer) -> None:
    @app.command("report", help=HELP)
    def report(
        week: str = typer.Option(None, "--week", help="Rebuild this ISO week (e.g. 2026-W47) instead of 'since the last report'."),
        profile: str = typer.Option("default", "--profile", help="Report profile: recipients and area/source filters."),
        send: bool = typer.Option(True, "--send/--no-send", help="Send by SMTP (when configured); --no-send only writes a preview."),
        open_html: bool = typer.Option(False, "--open", help="Open the HTML version in a browser afterwards."),
        record: bool = typer.Option(False, "--record-matches", help="First record the index's current matches in the ledger (the match flow's job; automatic when no match run was ever recorded)."),
    ) -> None:  # fmt: skip
        from rich.console import Console
        from rich.table import Table

        from service.report import DeliveryError, ProfileError, ReportError, build_report, deliver, resolve_profile
        from service.report.build import parse_week, record_library_matches, report_timezone
        from domain.settings import ReportSettings
        from service.operations import open_ledger
        from service.watch import attach_watchlist_news

        out, err = Console(), Console(stderr=True)

        settings = ReportSettings()
        try:
            chosen = resolve_profile(profile, settings)
            if week:
                parse_week(week, report_timezone(settings))  # a bad week fails before anything is opened
        except (ProfileError, ReportError) as exc:
            fail(str(exc), 2)
        ledger = open_ledger()
        try:
            with library_session(read_only=True) as library:
                if record or (ledger.last_match_run() is None and not week):
                    fresh = record_library_matches(ledger, library)
                    out.print(f"Recorded the index's current matches in the ledger: {len(fresh)} new.")
                built = build_report(ledger, library, week=week, settings=settings, profile=chosen)
                attach_watchlist_news(built, library, watchlists=chosen.watchlists)
        except LibraryUnavailable as exc:
            fail(f"{exc}. Build the index first (scout demo, or the crawl/enrich flows).")
        except ReportError as exc:
            fail(str(exc), 2)

        table = Table(title=f"dualscout report {built.week} · profile {built.profile}", title_justify="left")
        table.add_column("need", overflow="fold")
        table.add_column("new", justify="right")
        table.add_column("best", justify="right")
        table.add_column("top match", overflow="fold")
        for section in built.sections:
            top = section.items[0].match.title if section.items else ""
            # three places, as the mail, the pages and the other commands show a score (0.97 had stood for 0.967)
            table.add_row(cell(section.title, 60), str(section.new_count), f"{section.best_score:.3f}", cell(top, 60))
        if built.sections:
            out.print(table)
        ov = built.overview
        tz = report_timezone(settings)
        out.print(f"{built.week}: {built.since.astimezone(tz):%Y-%m-%d %H:%M} up to {built.until.astimezone(tz):%Y-%m-%d %H:%M}"
                  f" ({settings.timezone}).", highlight=False)
        if built.partly_delivered:
            out.print(f"{ov.fresh_matches} of the week's {ov.new_matches} new matches were first seen since the last "
                      f"report ({built.delivered_until.astimezone(tz):%Y-%m-%d %H:%M}); the others were in it.",
                      highlight=False)
        out.print(
            f"{ov.new_matches} new matches for {ov.needs_with_news} needs"
            + (f" (and {ov.folded_versions} more documents that are versions of these technologies)"
               if ov.folded_versions else "")
            + f"; {len(built.quiet_needs)} needs with nothing "
            f"new; {ov.records} documents read by the crawls ({ov.new_documents} new, "
            + (f"of them {ov.duplicates} duplicates of indexed ones, " if ov.duplicates else "")
            + f"{ov.fetched} pages fetched); "
            f"{len(ov.new_organizations)} new "
            f"organizations; {ov.rejected} rejected.",
            highlight=False,
        )
        if ov.judged_not_relevant:  # as the mail says it: these counts leave them out
            n = ov.judged_not_relevant
            out.print(f"{n} new match{'es' if n != 1 else ''} judged not relevant by an analyst "
                      f"{'are' if n != 1 else 'is'} left out of the report.", highlight=False)
        try:
            result = deliver(built, settings, chosen, ledger, send=send)
        except ValueError as exc:
            fail(str(exc), 2)
        except DeliveryError as exc:
            for line in exc.result.messages:
                err.print(f"  {line}", highlight=False)
            fail(str(exc))
        for line in result.messages:
            err.print(f"[yellow]warning:[/yellow] {line}", highlight=False)
        # a rebuilt week written to the outbox is recorded "resent" too: only a delivery through SMTP was sent
        # (this had printed "Sent to  via ." for `scout report --week W` with no SMTP host)
        if result.status in ("sent", "resent") and result.attempts:
            to = ", ".join(result.recipients)
            out.print(f"[green]Sent[/green] to {to} via {settings.smtp_host}.", highlight=False)
        elif not settings.smtp_host and send:
            out.print("No SMTP host is configured (SCOUT_REPORT_SMTP_HOST): the report is in the outbox.")
        out.print(f"Report: {result.eml_path}", highlight=False, soft_wrap=True)
        out.print(f"HTML:   {result.html_path}", highlight=False, soft_wrap=True)
        if open_html:
            typer.launch(str(result.html_path))
