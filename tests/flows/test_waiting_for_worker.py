"""The daily pipeline waits for its crawl runs; when no worker ever takes them (a lone worker started with
`--limit 1` runs the pipeline itself), the log says why instead of the pipeline hanging in silence."""

from prefect.states import Completed, Late, Pending, Running, Scheduled

from flows.crawl import waiting_for_a_worker


def test_runs_never_taken_are_said_with_the_cause():
    states = {"a": Scheduled(), "b": Late()}
    warning = waiting_for_a_worker(states, started=0.0, now=700.0, after=600.0)
    assert warning is not None
    assert "2 crawl runs" in warning and "--limit 2" in warning and "700 s" in warning


def test_nothing_is_said_before_the_grace_period():
    assert waiting_for_a_worker({"a": Scheduled()}, started=0.0, now=599.0, after=600.0) is None


def test_nothing_is_said_once_a_worker_took_any_run():
    for taken in (Pending(), Running(), Completed()):
        assert waiting_for_a_worker({"a": Scheduled(), "b": taken}, started=0.0, now=10_000.0, after=600.0) is None
    assert waiting_for_a_worker({"a": Scheduled(), "b": None}, started=0.0, now=10_000.0, after=600.0) is None
