"""Research-source queries derived from the needs (service.crawl_queries) and the default deployment's sources."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from domain.models import SourceSpec
from nlp.taxonomy import load_taxonomy
from service.crawl_queries import NeedTerms, derive_queries, plan_sources

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


NEEDS = [
    NeedTerms(language="ja", concepts=["qubit", "quantum-computing", "quantum-technology"],
              keyphrases=["超伝導回路の設計", "量子"]),
    NeedTerms(language="en", concepts=["qubit", "quantum-computing"], keyphrases=["cryogenic control electronics", "qubit"]),
]


def test_queries_are_the_most_specific_concepts_in_the_asked_language_most_shared_first(taxonomy):
    assert derive_queries(NEEDS, taxonomy, "ja", 5) == ["量子ビット", "超伝導回路の設計"]
    # a one-word key phrase is too broad to crawl on; the Japanese need's concept still gives an English query
    assert derive_queries(NEEDS, taxonomy, "en", 5) == ["qubit", "cryogenic control electronics"]
    assert derive_queries(NEEDS, taxonomy, "en", 1) == ["qubit"]


def test_single_query_arguments_become_one_labelled_crawl_per_query(taxonomy):
    sources = [SourceSpec(spider="jstage", args={"keyword": "from-needs:ja", "max_queries": "2", "count": "50"}),
               SourceSpec(spider="sbir_topics")]
    planned = plan_sources(sources, NEEDS, taxonomy)
    assert [(s.name, s.args) for s in planned] == [
        ("jstage[量子ビット]", {"keyword": "量子ビット", "count": "50"}),
        ("jstage[超伝導回路の設計]", {"keyword": "超伝導回路の設計", "count": "50"}),
        ("sbir_topics", {}),
    ]


def test_list_arguments_take_every_query_and_run_unnarrowed_without_needs(taxonomy):
    arxiv = SourceSpec(spider="arxiv", args={"categories": "quant-ph", "keywords": "from-needs"})
    [planned] = plan_sources([arxiv], NEEDS, taxonomy)
    assert planned.args == {"categories": "quant-ph", "keywords": "qubit,cryogenic control electronics"}
    [alone] = plan_sources([arxiv], [], taxonomy)
    assert alone.args == {"categories": "quant-ph"}


def test_a_single_query_source_is_skipped_with_a_warning_before_any_need_is_indexed(taxonomy, caplog):
    kaken = SourceSpec(spider="kaken", args={"kw": "from-needs:ja"}, optional=True)
    assert plan_sources([kaken], [], taxonomy) == []
    assert "no needs indexed yet" in caplog.text


def test_bad_from_needs_arguments_are_clear_errors(taxonomy):
    with pytest.raises(ValueError, match="ja or en"):
        plan_sources([SourceSpec(spider="jstage", args={"keyword": "from-needs:de"})], NEEDS, taxonomy)
    with pytest.raises(ValueError, match="max_queries"):
        plan_sources([SourceSpec(spider="jstage", args={"keyword": "from-needs", "max_queries": "x"})], NEEDS, taxonomy)


def test_the_daily_deployment_crawls_the_japanese_sources_beside_the_others():
    from flows.pipeline import DEFAULT_SOURCES

    daily = next(d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"] if d["name"] == "daily")
    sources = [SourceSpec.model_validate(s) for s in daily["parameters"]["sources"]]
    assert sources == DEFAULT_SOURCES
    spiders = [s.spider for s in sources]
    assert {"jstage", "kaken", "atla", "feeds", "arxiv", "openalex", "sbir_topics", "diu", "nato_diana"} <= set(spiders)
    by_spider = {s.spider: s for s in sources}
    assert by_spider["kaken"].optional and not by_spider["jstage"].optional
    assert "prtimes.jp/technology.rdf" in by_spider["feeds"].args["feeds"]
    assert by_spider["jstage"].args["keyword"] == "from-needs:ja"


def test_operations_fill_the_queries_from_the_needs_in_the_index(monkeypatch):
    """Through the real nlp stage (hashing embedder) and a real Qdrant Edge index at SCOUT_HOME."""
    from index.store import Index
    from nlp.fake import HashingEmbedder
    from nlp.pipeline import Enricher
    from domain.models import DocKind, Document
    from domain.settings import IndexSettings, NlpSettings
    from service.operations import plan_sources as plan_from_index

    monkeypatch.setenv("SCOUT_NLP_MODEL", "hashing")
    need = Document.make(kind=DocKind.need, source="needs-file", source_id="n1", url="file:needs.yaml#n1",
                         title="超伝導量子ビットの制御回路", text="極低温で動作する超伝導量子ビットの制御回路を募集する。",
                         language="ja")
    enricher = Enricher(NlpSettings(cache=False), embedder=HashingEmbedder())
    enriched, _ = enricher.enrich([need])
    with Index(IndexSettings(), dim=enricher.embedder.dim) as index:
        index.upsert(enriched)
    planned = plan_from_index([SourceSpec(spider="jstage", args={"keyword": "from-needs:ja", "max_queries": "1"}),
                               SourceSpec(spider="arxiv", args={"keywords": "from-needs:en", "max_queries": "1"})])
    assert [s.args for s in planned] == [{"keyword": "超伝導量子ビット"}, {"keywords": "superconducting qubit"}]
    assert planned[0].name == "jstage[超伝導量子ビット]"
