"""The human report: one line per result (PASS/FAIL), then each broken rule with its
file, what was found and what the round requires; optional official verdicts."""

from __future__ import annotations

from typing import Mapping, Sequence

from rich.console import Console
from rich.markup import escape

from flexbench.mlperf.check.findings import ERROR, Report


def _short(v: object, limit: int = 120) -> str:
    s = str(v)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def print_report(report: Report, console: Console, *, official: Mapping[str, object] | None = None,
                 agreement: Sequence[object] = ()) -> None:
    agree = {getattr(a, "key"): a for a in agreement}
    console.print(f"[bold]MLPerf Inference {report.round} check[/bold] of {escape(report.root)}")
    for r in report.results:
        tag = "[green]PASS[/green]" if r.passed else "[red]FAIL[/red]"
        metric = f"  {r.metric:g}" if r.metric is not None else ""
        line = f"{tag} {escape(r.key)}{metric}"
        a = agree.get(r.key)
        if a is not None:
            def word(v: object) -> str:
                return "-" if v is None else ("PASS" if v else "FAIL")
            line += f"   official: new {word(getattr(a, 'new'))}, old {word(getattr(a, 'old'))}"
            if not getattr(a, "agrees"):
                line += "  [bold yellow]<- disagrees with ours[/bold yellow]"
        console.print(line)
        for f in r.findings:
            mark = "[red]  x[/red]" if f.severity == ERROR else "[yellow]  ![/yellow]"
            console.print(f"{mark} {escape(f.rule)}: {escape(f.message)} ({escape(f.path)}): "
                          f"found {escape(_short(f.found))}, required {escape(_short(f.required))}"
                          + ("" if f.source == "both" else f" [dim]\\[{f.source} checker][/dim]"))
    n_fail = sum(not r.passed for r in report.results)
    verdict = "[green]PASSED[/green]" if report.passed else "[red]FAILED[/red]"
    console.print(f"{verdict}: {len(report.results) - n_fail} of {len(report.results)} results pass")
    if official:
        for name, v in official.items():
            ok = getattr(v, "passed")
            console.print(f"MLPerf's {name} checker: {'[green]PASS[/green]' if ok else '[red]FAIL[/red]'} "
                          f"(log: {escape(str(getattr(v, 'log_path')))})")
