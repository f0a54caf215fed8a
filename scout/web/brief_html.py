"""The shortlist brief as a stand-alone printable HTML file (`scout brief --html`): the page the web app serves,
with its print stylesheet inlined so that the file opens and prints anywhere."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from domain.times import shown, shown_day
from service.brief import Brief
from domain.labels import source_label

HERE = Path(__file__).parent


def render_brief_html(brief: Brief) -> str:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = shown_day
    env.filters["moment"] = shown
    env.filters["source_label"] = source_label
    css = (HERE / "static" / "brief.css").read_text(encoding="utf-8")
    return env.get_template("brief.html").render(brief=brief, need=brief.need, inline_css=css, standalone=True)
