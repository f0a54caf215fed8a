"""Report profiles: who receives a report and which part of it.

The `default` profile sends everything to `SCOUT_REPORT_RECIPIENTS`. Named profiles come from
`SCOUT_REPORT_PROFILES` (inline JSON, or the path of a YAML/JSON file) or else `$SCOUT_HOME/report_profiles.yaml`:

    atla-materials:                 # scout report --profile atla-materials
      recipients: [materials@example.jp]
      areas: [jp-materials]         # keep only matches in these critical-technology areas
      need_sources: [atla]          # keep only needs published by these sources
      watchlists: [RAM startups]    # its watchlist section: only these watchlists (default: all)

Each profile keeps its own "new since the last report" mark in the ledger.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.settings import ReportSettings, scout_home

DEFAULT_PROFILE = "default"
PROFILES_ENV = "SCOUT_REPORT_PROFILES"


class ProfileError(ValueError):
    """A profile file that cannot be read or a profile that does not exist."""


class ReportProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = DEFAULT_PROFILE
    recipients: list[str] = Field(default_factory=list)
    areas: list[str] = Field(default_factory=list)  # empty: every area
    need_sources: list[str] = Field(default_factory=list)  # empty: every source
    watchlists: list[str] = Field(default_factory=list)  # watchlist names in its watchlist section; empty: all


def _raw_profiles() -> tuple[dict, str]:
    value = os.environ.get(PROFILES_ENV, "").strip()
    if value.startswith("{"):
        try:
            return json.loads(value), PROFILES_ENV
        except json.JSONDecodeError as exc:
            raise ProfileError(f"{PROFILES_ENV} is not valid JSON: {exc}") from exc
    path = Path(value) if value else scout_home() / "report_profiles.yaml"
    if not path.exists():
        if value:
            raise ProfileError(f"{PROFILES_ENV} names {path}, which does not exist")
        return {}, str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path} is not valid YAML: {exc}") from exc
    return data, str(path)


def load_profiles(settings: ReportSettings | None = None) -> dict[str, ReportProfile]:
    """Every profile by name, `default` included."""
    settings = settings or ReportSettings()
    data, origin = _raw_profiles()
    if not isinstance(data, dict):
        raise ProfileError(f"{origin}: profiles are a mapping of name -> {{recipients, areas, need_sources}}")
    profiles = {DEFAULT_PROFILE: ReportProfile(name=DEFAULT_PROFILE, recipients=list(settings.recipients))}
    for name, body in data.items():
        try:
            profiles[str(name)] = ReportProfile.model_validate({**(body or {}), "name": str(name)})
        except (ValidationError, TypeError) as exc:
            raise ProfileError(f"{origin}: profile {name!r} is invalid: {exc}") from exc
    return profiles


def resolve_profile(name: str | None, settings: ReportSettings | None = None) -> ReportProfile:
    profiles = load_profiles(settings)
    name = name or DEFAULT_PROFILE
    if name not in profiles:
        raise ProfileError(f"unknown report profile {name!r}; known: {', '.join(sorted(profiles))}")
    return profiles[name]
