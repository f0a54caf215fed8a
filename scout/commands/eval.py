"""`scout eval BENCH_DIR`: score need -> technology ranking on a benchmark directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

METRICS = ("mrr", "ndcg@10", "recall@10", "recall@100")


def _table(result: dict[str, Any]) -> Any:
    from rich.table import Table

    scopes = [s for s in ("all", "strict") if s in result]
    table = Table(title=f"{result['needs']} needs, {result['docs']} documents")
    table.add_column("ranking")
    for scope in scopes:
        for m in METRICS:
            table.add_column(f"{scope}\n{m}", justify="right")
    rows = [("full", result)] + [(name, r) for name, r in result.get("baselines", {}).items()]
    for name, r in rows:
        table.add_row(name, *[f"{r[s][m]:.3f}" for s in scopes for m in METRICS])
    return table


def _stages_table(stages: dict[str, dict[str, float]], total: float) -> Any:
    from rich.table import Table

    table = Table(title="where the time went")
    table.add_column("stage")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_column("waited for a CPU s", justify="right")
    for name, s in stages.items():
        table.add_row(name, f"{s['wall']:.1f}", f"{s['cpu']:.1f}", f"{s.get('waited', 0.0):.1f}")
    table.add_row("total", f"{total:.1f}", f"{sum(s['cpu'] for s in stages.values()):.1f}",
                  f"{sum(s.get('waited', 0.0) for s in stages.values()):.1f}")
    return table


def _feedback_table(block: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=f"relevance feedback: top {block['k']} judged, residual ranking of {block['needs']} needs "
                        "(strict)")
    table.add_column("ranking")
    for m in METRICS:
        table.add_column(m, justify="right")
    for name in ("before", "after"):
        table.add_row(name, *[f"{block[name]['strict'][m]:.3f}" for m in METRICS])
    before, after = block["before"]["strict"]["ndcg@10"], block["after"]["strict"]["ndcg@10"]
    if before:
        table.add_row("after / before", "", f"{after / before:.2f}x", "", "")
    return table


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_command(
        bench_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="needs.jsonl, docs.jsonl, qrels.tsv [, qrels_strict.tsv, anchors.tsv]"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
        baselines: bool = typer.Option(False, "--baselines", help="Also score BM25-only and dense-only rankings."),
        limit_needs: Optional[int] = typer.Option(None, "--limit-needs", min=1, help="Score only the first N needs."),
        feedback: Optional[int] = typer.Option(None, "--feedback", min=1, max=50, metavar="K",
                                               help="Simulate an analyst judging each need's top K, re-rank, and "
                                                    "score the residual ranking before and after."),
    ) -> None:
        """Score the ranking on a need->technology benchmark (sbir-bench format).

        Builds a fresh temporary index from BENCH_DIR with the product's NLP and ranking code and prints
        MRR, nDCG@10, Recall@10 and Recall@100, for all links and strict (anchor documents removed).
        Every text is embedded anew, in a fresh embedding cache beside that index (the home's is neither
        read nor written: int8 vectors depend on which texts share a run, so cached ones would make the
        figures depend on what ran before).
        With --feedback K, also the residual ranking (the K judged documents left out) without and with
        the simulated judgements.

        Example: scout eval ../shared/data/sbir-bench --baselines
        """
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        from service.operations import evaluate_bench

        err = Console(stderr=True)
        with Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=err, transient=as_json) as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            try:
                result = evaluate_bench(bench_dir, baselines=baselines, progress=progress,
                                        limit_needs=limit_needs, feedback_k=feedback)
            except (FileNotFoundError, ValueError) as exc:
                err.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(2) from None
        if as_json:
            typer.echo(json.dumps(result))
        else:
            Console().print(_table(result))
            if "feedback" in result:
                Console().print(_feedback_table(result["feedback"]))
            Console().print(_stages_table(result["stages"], result["seconds"]["total"]))
            Console().print(f"indexed in {result['seconds']['index']} s, total {result['seconds']['total']} s"
                            + (f", {result['rejected']} rejected" if result["rejected"] else ""))
