"""What goes into a weekly report, gathered from the ledger (what is new) and the library (the needs).

`build_report()` only reads; `service.report.render` turns a `Report` into an e-mail and `service.report.send`
delivers it and records the delivery in the ledger.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Iterable
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from index.grouping import Member, group_members, versions_of
from index.ranking.organizations import organization_score
from index.ranking.weights import RankWeights
from service.evidence import analysed, english_rendering, match_evidence, shown_evidence
from service.library import Library
from domain.models import Document, DocKind, Match, Version, utcnow
from domain.orgs import answering_organizations, issued_by, normalize_org, publishers as needs_publishers
from domain.urls import safe_url  # noqa: F401 - the report's link check, re-exported
from service.report.profiles import ReportProfile
from domain.settings import ReportSettings

if TYPE_CHECKING:
    from index.ledger import Ledger, NewOrganization, SourceSummary
    from nlp.taxonomy import Taxonomy

CHART_WEEKS = 8
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)  # "since the beginning" when nothing was sent yet
_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)
SUMMARY_ITEMS = 3  # the report opens with the week's strongest new matches
LANGUAGE_SCALE_MIN = 3  # needs of one language in a report before their scores are put on a common scale


class ReportError(ValueError):
    """Bad input to a report (a week that is not an ISO week, an unknown time zone)."""


def parse_week(week: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """"2026-W47" -> [Monday 00:00, next Monday 00:00) in `tz`."""
    found = _WEEK.fullmatch(week.strip())
    if not found:
        raise ReportError(f"{week!r} is not an ISO week; write it like 2026-W47")
    try:
        monday = date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError as exc:
        raise ReportError(f"{week!r} is not an ISO week: {exc}") from exc
    since = datetime(monday.year, monday.month, monday.day, tzinfo=tz)
    following = monday + timedelta(weeks=1)
    return since, datetime(following.year, following.month, following.day, tzinfo=tz)


def week_label(moment: datetime, tz: tzinfo) -> str:
    iso = moment.astimezone(tz).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def report_timezone(settings: ReportSettings) -> tzinfo:
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReportError(f"unknown time zone {settings.timezone!r} (SCOUT_REPORT_TIMEZONE)") from exc


@dataclass
class ReportItem:
    """A new technology (a matched document) for one need."""

    match: Match
    concepts: list[str]  # display labels of the shared concepts
    evidence: str
    link: str | None  # the document's own URL, when it is a safe http(s) URL
    areas: list[str] = field(default_factory=list)
    evidence_link: str = ""  # the match on dualscout's need page: its evidence, the original one click on
    need_title: str = ""
    versions: list[Version] = field(default_factory=list)  # other documents of this technology, oldest first
    fresh: bool = True  # first seen after the last delivered report's period (always, unless a re-run)
    evidence_en: str = ""  # Japanese evidence's English gist (service.evidence.english_rendering), "" otherwise


@dataclass
class ReportOrganization:
    key: str
    name: str
    score: float  # best score among its new matches for this need
    documents: int
    new: bool  # named by a match for the first time in this window
    issuer: bool = False  # lies under the publisher of a need (AFRL under "Air Force"), as the need page marks it


@dataclass
class NeedSection:
    need_id: str
    title: str
    source: str
    language: str | None
    link: str  # the need's page in `scout serve`
    new_count: int
    best_score: float
    items: list[ReportItem]
    organizations: list[ReportOrganization]
    fresh_count: int = 0  # of new_count, first seen since the last report (a re-run of the week)


@dataclass
class QuietNeed:
    need_id: str
    title: str
    source: str
    link: str


@dataclass
class Overview:
    sources: list["SourceSummary"]
    new_organizations: list["NewOrganization"]
    new_matches: int
    needs_with_news: int
    fresh_matches: int = 0  # of new_matches, those first seen since the last report (== new_matches unless a re-run)
    judged_not_relevant: int = 0  # new matches left out because an analyst judged them not relevant
    # new matches shown as versions inside another's item (one technology under several documents): with
    # new_matches they add up to the new matches the match runs counted (the demo's and the flows' summaries)
    folded_versions: int = 0

    @property
    def fetched(self) -> int:
        return sum(s.fetched for s in self.sources)

    @property
    def records(self) -> int:
        """Documents the crawls read (new, updated or unchanged); `fetched` counts pages, which may hold many."""
        return sum(s.new + s.updated + s.unchanged for s in self.sources)

    @property
    def runs(self) -> int:
        return sum(s.runs for s in self.sources)

    @property
    def new_documents(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def duplicates(self) -> int:
        """Of the new documents, those whose content the index already held (recorded, not indexed again)."""
        return sum(s.duplicates for s in self.sources)

    @property
    def updated_documents(self) -> int:
        return sum(s.updated for s in self.sources)

    @property
    def rejected(self) -> int:
        return sum(s.rejected for s in self.sources)


@dataclass
class Report:
    week: str
    since: datetime
    until: datetime
    generated_at: datetime
    timezone: str
    profile: str
    rebuilt: bool  # built for an explicit week (`--week`)
    base_url: str
    sections: list[NeedSection]
    quiet_needs: list[QuietNeed]
    overview: Overview
    new_matches: list[ReportItem]  # every new match, best first: the CSV attachment
    need_titles: dict[str, str]
    chart_png: bytes | None
    chart_caption: str
    summary: list[ReportItem] = field(default_factory=list)  # the strongest new matches, to open with
    browser_link: str = ""  # this report on `scout serve`
    watchlists: list = field(default_factory=list)  # service.watch.WatchlistNews, added by attach_watchlist_news
    week_start: datetime | None = None  # Monday 00:00 of `week`; `since` is earlier when the period covers more
    delivered_until: datetime | None = None  # a re-run: where the last delivered report's period ended
    chart_weeks: list[str] = field(default_factory=list)  # the chart's bars: ISO weeks, oldest first
    chart_totals: list[int] = field(default_factory=list)  # new matches per bar (every area)
    chart_legend: list = field(default_factory=list)  # service.report.chart.LegendEntry, the bars' areas in order

    @property
    def is_empty(self) -> bool:
        return not self.new_matches

    @property
    def partly_delivered(self) -> bool:
        """A re-run of the week: some of its new matches were already in the last delivered report."""
        return self.delivered_until is not None and self.overview.fresh_matches < self.overview.new_matches


def record_library_matches(ledger: "Ledger", library: Library, *, limit_per_need: int = 20) -> list[Match]:
    """Record the library's current matches as a match run (what the scheduled `match` flow does); returns the
    ones the ledger had never seen. Lets `scout report` work on an index built without the flows."""
    run_id = ledger.start_match_run()
    issuers = needs_publishers(library.needs())
    return ledger.record_matches(run_id, library.all_matches(limit_per_need=limit_per_need), issuers)


class _Needs:
    """The needs a report speaks of, looked up in the library once each (titles, sources, the profile's filter)."""

    def __init__(self, library: Library | None, profile: ReportProfile):
        self.library = library
        self.profile = profile
        self.by_id: dict[str, Document] = {n.id: n for n in library.needs()} if library is not None else {}
        self._states: dict[str, dict[str, str]] = {}

    def judged_not_relevant(self, match: Match) -> bool:
        """An analyst judged this document not relevant to this need: the report leaves it out, as every page does."""
        if self.library is None:
            return False
        if match.need_id not in self._states:
            self._states[match.need_id] = self.library.judgement_states(match.need_id)
        return self._states[match.need_id].get(match.doc_id) == "not_relevant"

    def get(self, need_id: str) -> Document | None:
        if need_id not in self.by_id and self.library is not None:
            doc = self.library.document(need_id)
            if doc is not None:
                self.by_id[need_id] = doc
        return self.by_id.get(need_id)

    def wanted(self, need_id: str) -> bool:
        if not self.profile.need_sources:
            return True
        doc = self.get(need_id)
        return doc is not None and doc.source in self.profile.need_sources

    def title(self, need_id: str) -> str:
        doc = self.get(need_id)
        return doc.title if doc is not None else need_id

    def evidence(self, match: Match) -> str:
        """What the document says, as the need page shows it (service.evidence.match_evidence): in the
        document's own words, from the document itself when the library has it."""
        need = self.get(match.need_id)
        doc = self.library.document(match.doc_id) if self.library is not None else None
        if need is not None:
            _, shown = match_evidence(match, need, analysed(need), analysed(doc) if doc is not None else None)
        else:
            shown = shown_evidence(match.doc_evidence, analysed(doc) if doc is not None else None, title=match.title)
        return shown.text if shown is not None else ""


@dataclass(frozen=True)
class Period:
    """What a report covers: [since, until), named after its ISO week.

    A weekly report covers its week: from Monday 00:00 (in the report's time zone) up to the end of the week,
    or up to now while the week is running. When the last report delivered to the profile ended before the
    week began, the period starts there instead (nothing is skipped), and from the first recorded run when
    none was ever delivered. `delivered_until`: where the last delivered report's period ended, when that
    falls inside this period (a re-run of the same week): matches first seen from then on are "new since
    the last report", the others were in it."""

    since: datetime
    until: datetime
    week: str
    week_start: datetime
    delivered_until: datetime | None = None


def report_period(ledger: "Ledger", week: str | None, profile: ReportProfile, tz: tzinfo,
                  now: datetime) -> Period:
    """The period of an explicit ISO week, or of the week the report is for (see `Period`)."""
    last = ledger.last_sent_report(profile=profile.name)
    delivered = last[1] if last else None
    if week:
        week_start, week_end = parse_week(week, tz)
        since, until = week_start, week_end
    elif delivered is None:
        # The first report holds everything first seen up to now, named after this week. (Named after last
        # week on a Monday to Thursday, it ended at last week's end: a first `scout demo` or `scout report` on
        # a Tuesday listed none of the matches it had just recorded.)
        week_start, _ = parse_week(week_label(now, tz), tz)
        since, until = EPOCH, now
    else:
        # Named after the week the period mostly covers: sent on Monday morning, it is last week's report, up to
        # that week's end (what came since waits for the next one, which starts where this one ends); a re-run
        # after that delivery is this week's.
        label = week_label(max(delivered, now - timedelta(days=3.5)), tz)
        week_start, week_end = parse_week(label, tz)
        since, until = week_start, min(now, week_end)
        if delivered < week_start:
            since = delivered
    since = min(since, until)
    inside = delivered is not None and since < delivered < until
    return Period(since, until, week_label(week_start, tz), week_start, delivered if inside else None)


def select_items(matches: Iterable[Match], taxonomy: "Taxonomy", profile: ReportProfile,
                 needs: _Needs, base: str = "", *, evidence: bool = True,
                 judged_out: list[Match] | None = None) -> list[ReportItem]:
    """The new matches the profile asks for (its areas, its need sources), each with its evidence (unless
    `evidence` is False: counting only); best first."""
    concept_areas = {c.id: taxonomy.areas_of(c.id) for c in taxonomy.concepts}
    concept_label = {c.id: (c.en if c.en == c.ja else f"{c.en} ({c.ja})") for c in taxonomy.concepts}
    items: list[ReportItem] = []
    for match in matches:
        areas = sorted({a for c in match.shared_concepts for a in concept_areas.get(c, ())})
        if profile.areas and not set(areas) & set(profile.areas):
            continue
        if not needs.wanted(match.need_id):
            continue
        if needs.judged_not_relevant(match):
            if judged_out is not None:  # the profile wanted it; an analyst rejected it
                judged_out.append(match)
            continue
        said = needs.evidence(match) if evidence else ""
        items.append(
            ReportItem(
                match=match,
                concepts=[concept_label.get(c, c) for c in match.shared_concepts],
                evidence=said,
                evidence_en=english_rendering(said),
                link=safe_url(match.url),
                areas=areas,
                evidence_link=evidence_link(base, match) if base else "",
                need_title=needs.title(match.need_id),
            )
        )
    items.sort(key=lambda i: (-i.match.score, i.match.need_id, i.match.doc_id))
    return one_per_technology(items)


def one_per_technology(items: list[ReportItem]) -> list[ReportItem]:
    """Versions of one technology new for one need (Phase I and II, one announcement under two URLs) become one
    item listing its versions; best first stays best first."""
    by_need: dict[str, list[ReportItem]] = defaultdict(list)
    for item in items:
        by_need[item.match.need_id].append(item)
    leads: set[int] = set()
    for need_items in by_need.values():
        members = [Member(i, i.match.doc_id, i.match.title, i.match.organizations, i.match.published,
                          i.match.score, i.match.url, i.match.source,
                          i.match.doc_evidence.text if i.match.doc_evidence else "") for i in need_items]
        for group in group_members(members):
            group[0].item.versions = versions_of(group)
            leads.add(id(group[0].item))
    return [i for i in items if id(i) in leads]


def need_link(base: str, need_id: str) -> str:
    return f"{base}/needs/{quote(need_id, safe='')}"


def evidence_link(base: str, match: Match) -> str:
    """The match on its need's page (its evidence, with the original one click on): a match ranked below the
    first page asks for enough matches to be on it (ranks move a little between runs: a margin)."""
    page = f"?limit={min(match.rank + 10, 500)}" if match.rank > 20 else ""
    return f"{need_link(base, match.need_id)}{page}#m-{quote(match.doc_id, safe='')}"


def section_organizations(items: list[ReportItem], new_org_keys: set[str], top: int,
                          issuers: Iterable[str] = (), publishers: Iterable[str] = ()) -> list[ReportOrganization]:
    """The organizations behind one need's new matches, best first, each counted once per document and scored
    over its new documents as the need page scores an organization (`organization_score`, the ranker's decay):
    an organization with two new documents shows the figure of the page's row (0.96), not its best document's
    (0.95, as it had). The need's issuer (`issuers`: its organizations) is left out, as on the need page; one
    under another need's publisher (`publishers`: every need's organizations) is marked an issuer, as there."""
    publishers = list(publishers)
    orgs: dict[str, ReportOrganization] = {}
    scores: dict[str, list[float]] = defaultdict(list)
    for item in items:
        for name in answering_organizations(item.match.organizations, issuers):
            key = normalize_org(name)
            if not key:
                continue
            if key not in orgs:
                orgs[key] = ReportOrganization(key, name.strip(), item.match.score, 0, key in new_org_keys,
                                               issuer=bool(publishers) and issued_by(name, publishers))
            orgs[key].documents += 1
            scores[key].append(item.match.score)
    decay = RankWeights().org_decay
    for key, org in orgs.items():
        org.score = organization_score(scores[key], decay)
    return sorted(orgs.values(), key=lambda o: (-o.score, o.name))[:top]


def need_sections(items: list[ReportItem], needs: _Needs, new_org_keys: set[str], *, base: str,
                  top: int) -> list[NeedSection]:
    """One section per need with news, the strongest news first."""
    by_need: dict[str, list[ReportItem]] = defaultdict(list)
    for item in items:
        by_need[item.match.need_id].append(item)
    publishers = needs_publishers(needs.by_id.values())
    sections: list[NeedSection] = []
    for need_id, need_items in by_need.items():
        doc = needs.get(need_id)
        sections.append(
            NeedSection(
                need_id=need_id,
                title=needs.title(need_id),
                source=doc.source if doc else "",
                language=doc.language if doc else None,
                link=need_link(base, need_id),
                new_count=len(need_items),
                fresh_count=sum(1 for i in need_items if i.fresh),
                best_score=need_items[0].match.score,
                items=need_items[:top],
                organizations=section_organizations(need_items, new_org_keys, top,
                                                    issuers=doc.organizations if doc else (), publishers=publishers),
            )
        )
    strength = section_strength(sections)
    # The strongest news first, whatever the need's language: strength, then how much is new.
    sections.sort(key=lambda s: (-strength[s.need_id], -s.new_count, s.title))
    return sections


def section_strength(sections: list[NeedSection]) -> dict[str, float]:
    """How strong a need's best new match is, on one scale for every language.

    Cross-lingual matches (a Japanese need, English technology) score lower than same-language ones for the
    same fit, so ordering by raw score would sink every Japanese need. When a report holds at least
    LANGUAGE_SCALE_MIN needs of a language, their best scores are divided by the mean of that language's three
    best (its scale), and by the overall scale otherwise; equal strength keeps the raw order."""
    def scale(scores: list[float]) -> float:
        top = sorted(scores, reverse=True)[:3]
        return (sum(top) / len(top)) if top and sum(top) > 0 else 1.0

    overall = scale([s.best_score for s in sections])
    by_language: dict[str, list[float]] = defaultdict(list)
    for s in sections:
        by_language[s.language or "other"].append(s.best_score)
    scales = {lang: scale(scores) if len(scores) >= LANGUAGE_SCALE_MIN else overall
              for lang, scores in by_language.items()}
    return {s.need_id: s.best_score / scales[s.language or "other"] for s in sections}


def quiet_needs(needs: _Needs, with_news: set[str], *, base: str, until: datetime | None = None) -> list[QuietNeed]:
    """The needs (of the profile) with nothing new, by source and title: those in the index before the period
    ended (a rebuilt past week had listed as "nothing new" every need first seen since, 11 of them for a week
    before the demo's index existed)."""
    return [
        QuietNeed(n.id, n.title, n.source, need_link(base, n.id))
        for n in sorted(needs.by_id.values(), key=lambda d: (d.source, d.title))
        if n.kind == DocKind.need and n.id not in with_news and needs.wanted(n.id)
        and (until is None or n.first_seen is None or n.first_seen < until)
    ]


def weekly_area_counts(ledger: "Ledger", taxonomy: "Taxonomy", profile: ReportProfile, needs: _Needs, *,
                       until: datetime, tz: tzinfo, weeks: int = CHART_WEEKS) -> tuple[list[str], dict[str, list[int]]]:
    """(ISO week labels, area -> new matches per week) for the `weeks` weeks up to `until`: the items the report
    itself would list for each week (profile filters, one per technology), each under its main area, so the
    chart's bars and the report's counts agree."""
    from service.report.chart import chart_areas, main_area

    wanted = chart_areas(taxonomy, profile.areas or None)
    last = until.astimezone(tz) - timedelta(microseconds=1)
    monday = (last - timedelta(days=last.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    for i, start in enumerate(starts):
        end = min(starts[i + 1], until) if i + 1 < weeks else until
        for item in select_items(ledger.new_matches(start, end), taxonomy, profile, needs, evidence=False):
            counts[main_area(item.match.shared_concepts, taxonomy, wanted)][i] += 1
    return [week_label(s, tz) for s in starts], dict(counts)


def build_report(
    ledger: "Ledger",
    library: Library | None,
    *,
    week: str | None = None,
    settings: ReportSettings | None = None,
    profile: ReportProfile | None = None,
    taxonomy: "Taxonomy | None" = None,
    now: datetime | None = None,
    chart: bool = True,
) -> Report:
    """Gather a report.

    Without `week`: everything first seen since the last report delivered to this profile, up to now.
    With `week` ("2026-W47", in `settings.timezone`): that week, rebuilt from the ledger at any later time.
    `library` supplies the needs (titles, and the needs with nothing new); None leaves titles as ids.
    """
    settings = settings or ReportSettings()
    profile = profile or ReportProfile(recipients=list(settings.recipients))
    tz = report_timezone(settings)
    if taxonomy is None:  # the one the index is analysed with, from the process' one cache (pages, CLI, evidence)
        from nlp.taxonomy import configured_taxonomy

        taxonomy = configured_taxonomy()
    now = now or utcnow()
    period = report_period(ledger, week, profile, tz, now)
    since, until, label = period.since, period.until, period.week
    base = settings.base_url.rstrip("/")
    needs = _Needs(library, profile)

    judged_out: list[Match] = []
    items = select_items(ledger.new_matches(since, until), taxonomy, profile, needs, base, judged_out=judged_out)
    if period.delivered_until is not None:
        fresh = {(m.need_id, m.doc_id) for m in ledger.new_matches(period.delivered_until, until)}
        for item in items:
            item.fresh = any((item.match.need_id, d) in fresh for d in [item.match.doc_id, *(v.doc_id for v in item.versions)])
    new_orgs = ledger.new_organizations(since, until)
    sections = need_sections(items, needs, {o.key for o in new_orgs}, base=base, top=settings.top_per_need)
    with_news = {s.need_id for s in sections}
    overview = Overview(
        sources=ledger.crawl_summary(since, until),
        new_organizations=new_orgs,
        new_matches=len(items),
        needs_with_news=len(sections),
        fresh_matches=sum(1 for i in items if i.fresh),
        judged_not_relevant=len(judged_out),
        folded_versions=sum(max(len(i.versions) - 1, 0) for i in items),  # versions list the lead too
    )

    # The chart counts what the text counts: its last bar is this week up to `until`, the same items.
    weeks, counts = weekly_area_counts(ledger, taxonomy, profile, needs, until=until, tz=tz)
    totals = [sum(c[i] for c in counts.values()) for i in range(len(weeks))]
    chart_png, caption, legend = None, "", []
    if chart:
        from service.report.chart import chart_legend, draw_area_chart

        # the legend is the mail's text beside the image (readable on a phone), not drawn in it
        chart_png, caption = draw_area_chart(weeks, counts, taxonomy, legend=False)
        legend = chart_legend(counts, taxonomy)

    return Report(
        week=label,
        since=since,
        until=until,
        generated_at=now,
        timezone=settings.timezone,
        profile=profile.name,
        rebuilt=bool(week),
        base_url=base,
        sections=sections,
        quiet_needs=quiet_needs(needs, with_news, base=base, until=until),
        overview=overview,
        new_matches=items,
        need_titles={nid: needs.title(nid) for nid in with_news},
        chart_png=chart_png,
        chart_caption=caption,
        chart_legend=legend,
        summary=items[:SUMMARY_ITEMS],
        browser_link=browser_link(base, label, profile.name, now),
        week_start=period.week_start,
        delivered_until=period.delivered_until,
        chart_weeks=weeks,
        chart_totals=totals,
    )


def built_stamp(generated_at: datetime) -> str:
    """A report's build time as its outbox files are named ("20261207T005438Z", UTC)."""
    return generated_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def browser_link(base: str, week: str, profile: str, generated_at: datetime | None = None) -> str:
    """This report on `scout serve` (`/reports/<week>?built=<its build time>`): the one the mail is, not the
    newest written for its week (a later re-run or a --no-send preview had answered a reader's "View in browser"
    with other figures: 212 new matches in a mail that said 213)."""
    link = f"{base}/reports/{quote(week, safe='')}"
    params = [f"built={built_stamp(generated_at)}"] if generated_at is not None else []
    if profile != "default":
        params.append(f"profile={quote(profile, safe='')}")
    return f"{link}?{'&'.join(params)}" if params else link
