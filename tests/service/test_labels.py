"""One rule names a concept and an area on every face: the CLI (`scout/commands/_console.py`), the pages
(`scout/web/app.py _labels`) and a watchlist's filters (`service.watch.filter_label`) all read
`service.labels`. They had been three copies: the same labels while the taxonomy loads, but with a taxonomy
that does not load the CLI and the pages named the id while a watchlist's filters raised (its page, its feed,
`/audit` and `scout watch list` failed)."""

from __future__ import annotations

import pytest

from nlp.taxonomy import configured_taxonomy
from scout.commands import _console
from scout.web.app import _labels
from service import labels, watch


def _faces():
    page_concept, page_area, _ = _labels()
    return {
        "concept": [labels.concept_label, _console.concept_label, page_concept,
                    lambda v: watch.filter_label("concept", v)],
        "area": [labels.area_label, _console.area_label, page_area, lambda v: watch.filter_label("area", v)],
    }


def test_every_face_names_every_concept_and_area_alike():
    tax = configured_taxonomy()
    faces = _faces()
    for key, ids, label in (("concept", [c.id for c in tax.concepts], lambda i: tax.by_id[i].en),
                            ("area", [a.id for a in tax.areas], lambda i: tax.area_labels[i])):
        for value in ids:
            assert {face(value) for face in faces[key]} == {label(value)}, (key, value)
        unknown = f"no-such-{key}"
        assert {face(unknown) for face in faces[key]} == {unknown}, "an id the taxonomy does not know reads as is"
    assert watch.filter_label("concept", "Quantum Sensing") == labels.concept_label("quantum-sensing")


def test_a_taxonomy_that_does_not_load_names_the_id_on_every_face(tmp_path, monkeypatch):
    broken = tmp_path / "taxonomy.yaml"
    broken.write_text("- not a mapping\n", encoding="utf-8")
    monkeypatch.setenv("SCOUT_NLP_TAXONOMY_PATH", str(broken))
    with pytest.raises(ValueError):
        configured_taxonomy()
    for key, faces in _faces().items():
        for face in faces:
            assert face("quantum-sensing" if key == "concept" else "jp-quantum") in ("quantum-sensing", "jp-quantum")
