"""The inbox under bad luck (issue 19, items 3 and 7): one document whose enrichment fails costs only itself;
a batch that fails as a whole is quarantined with its reason and the next batches go on; a folder named
*.jsonl is not a batch; an invalid URL or oversized text in a batch file is bounded with a note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.limits import MAX_TEXT_CHARS
from domain.models import Document
from index.ingest import BatchFailed, ingest_inbox, read_batch
from tests.index.fakes import FakeEnricher


class DictIndex:
    """Just what ingest needs of the index: stored payloads by id."""

    def __init__(self) -> None:
        self.docs: dict[str, Document] = {}
        self.flushes = 0

    def get_many(self, ids, fields):
        return {i: {"document": self.docs[i].model_dump(mode="json")} for i in ids if i in self.docs}

    def content_hash_owners(self, hashes):
        owners: dict[str, str] = {}
        for doc in self.docs.values():
            if doc.content_hash in hashes and (doc.content_hash not in owners or doc.id < owners[doc.content_hash]):
                owners[doc.content_hash] = doc.id
        return owners

    def upsert(self, enriched, *, flush: bool = True) -> None:
        for e in enriched:
            self.docs[e.document.id] = e.document

    def flush(self) -> None:
        self.flushes += 1


class PickyEnricher(FakeEnricher):
    """Fails on any batch holding a document whose text says POISON (as a crashing NLP component would)."""

    def enrich(self, docs):
        if any("POISON" in d.text for d in docs):
            raise RuntimeError("tokenizer crashed")
        return super().enrich(docs)


def doc(n: int, text: str = "A metamaterial absorber for radar.") -> Document:
    return Document.make(kind="research", source="openalex", source_id=f"W{n}", url=f"https://example.org/{n}",
                         title=f"Work {n}", text=text)


def write(inbox: Path, name: str, docs: list[Document]) -> Path:
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_text("".join(d.model_dump_json() + "\n" for d in docs), encoding="utf-8")
    return path


def test_one_poisoned_document_is_a_reject_and_its_neighbours_are_indexed(tmp_path):
    inbox, index = tmp_path / "inbox", DictIndex()
    write(inbox, "a-1.jsonl", [doc(1), doc(2, "POISON pill"), doc(3)])
    [stats] = ingest_inbox(inbox, PickyEnricher(), index, rejects_path=tmp_path / "rejects.jsonl")
    assert set(index.docs) == {doc(1).id, doc(3).id} and stats.new == 2 and stats.rejected == 1
    [reject] = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert reject["reason"] == "enrich failed: RuntimeError: tokenizer crashed" and reject["stage"] == "nlp"
    assert (inbox / "done" / "a-1.jsonl").exists()


def test_a_failing_batch_is_quarantined_and_the_next_batches_go_on(tmp_path):
    inbox, index = tmp_path / "inbox", DictIndex()
    write(inbox, "a-1.jsonl", [doc(1, "POISON")])
    (inbox / "b-2.jsonl").mkdir()  # a folder that looks like a batch
    write(inbox, "c-3.jsonl", [doc(3)])
    results = ingest_inbox(inbox, PickyEnricher(), index, rejects_path=tmp_path / "rejects.jsonl")
    assert [r.batch for r in results] == ["a-1.jsonl", "c-3.jsonl"]
    assert results[0].quarantined == "enrich failed for every document: RuntimeError: tokenizer crashed"
    assert set(index.docs) == {doc(3).id}
    assert (inbox / "quarantine" / "a-1.jsonl").exists()
    assert "tokenizer crashed" in (inbox / "quarantine" / "a-1.jsonl.reason.txt").read_text()
    assert (inbox / "b-2.jsonl").is_dir() and (inbox / "done" / "c-3.jsonl").exists()


def test_the_same_failure_twice_in_a_row_stops_the_run_instead_of_emptying_the_inbox(tmp_path):
    inbox = tmp_path / "inbox"
    for n in range(1, 4):
        write(inbox, f"a-{n}.jsonl", [doc(n, "POISON")])
    with pytest.raises(BatchFailed, match="two batches in a row"):
        ingest_inbox(inbox, PickyEnricher(), DictIndex(), rejects_path=tmp_path / "rejects.jsonl")
    assert [p.name for p in (inbox / "quarantine").glob("*.jsonl")] == ["a-1.jsonl"]
    assert sorted(p.name for p in inbox.glob("*.jsonl")) == ["a-2.jsonl", "a-3.jsonl"]


def test_a_batch_line_with_a_bad_url_or_huge_text_is_kept_bounded_with_a_note(tmp_path):
    bad = doc(1).model_copy(update={"url": "http://[::1"})
    huge = doc(2, "radar " * (MAX_TEXT_CHARS // 3))
    docs, rejects = read_batch(write(tmp_path, "b.jsonl", [bad, huge]))
    assert rejects == [] and [d.id for d in docs] == [bad.id, huge.id]
    assert docs[0].url == "" and docs[0].meta["input_notes"][0].startswith("url dropped: malformed URL")
    assert len(docs[1].text) == MAX_TEXT_CHARS and "text cut" in docs[1].meta["input_notes"][0]
