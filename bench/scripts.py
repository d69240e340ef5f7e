"""Bench: a script through the PowerShell engine against the same work as structured pipelines.

Issue 17 item 4 ("scripts are not slow"): a Get-NestedVirtStatus.ps1-sized script — several
hundred lines — should run in under 0.5 s through the endpoint. The engine is another issue's
(`simulator/pwsh`); this is its hook in `make bench`: the first probe batch of builtin:reference's
host, once as structured pipelines (what the diagnosis sends) and once as one script of the same
pipelines, one per line, repeated to SCRIPT_LINES lines. While the engine cannot run such a
script, the row says so instead of a number.
"""

from __future__ import annotations

import time
from typing import Any

from nestlab.diagnosis import probes
from nestlab.simulator import labfile, powershell
from nestlab.simulator.endpoint import direct

TITLE = "Scripts vs structured pipelines (in process)"
SCRIPT_LINES = 300
GOAL_SECONDS = 0.5


def _script(pipelines: list[tuple]) -> str:
    lines = [direct.render(p) for p in pipelines]
    return "\n".join((lines * (SCRIPT_LINES // len(lines) + 1))[:SCRIPT_LINES])


def run(*, quick: bool = False) -> dict[str, Any]:
    lab = labfile.load("builtin:reference")
    host = lab.hosts()[0]
    pipelines = [p.pipeline for p in probes.first_batch(guest=False)]
    repeat = SCRIPT_LINES // len(pipelines) + 1
    start = time.perf_counter()
    for _ in range(repeat):
        for pipeline in pipelines:
            powershell.run(lab, host, pipeline)
    structured_s = (time.perf_counter() - start) * SCRIPT_LINES / (repeat * len(pipelines))
    script_s, why = None, ""
    try:
        from nestlab.simulator.pwsh import run_script

        start = time.perf_counter()
        result = run_script(lambda context, pipeline: powershell.run(lab, context, pipeline), host, _script(pipelines))
        script_s = time.perf_counter() - start
        if getattr(result, "failed", False):
            script_s, why = None, "the engine stopped on the script: " + "; ".join(str(e) for e in result.errors[:1])
    except Exception as exc:  # the engine is not there yet, or cannot run this much PowerShell
        why = f"{type(exc).__name__}: {str(exc)[:120]}"
    ratio = None if script_s is None else script_s / structured_s
    rows = [[f"{SCRIPT_LINES} structured pipelines", f"{structured_s:.3f}", "1.0×"],
            [f"one {SCRIPT_LINES}-line script", "—" if script_s is None else f"{script_s:.3f}",
             "—" if ratio is None else f"{ratio:.1f}×"]]
    notes = [f"script < {GOAL_SECONDS} s: " + ("not measured: " + why if script_s is None else
                                               ("met" if script_s < GOAL_SECONDS else "NOT met"))]
    return {
        "title": TITLE,
        "columns": ["what", "seconds", "vs structured"],
        "rows": rows,
        "notes": notes,
        "data": {"lines": SCRIPT_LINES, "structured_s": structured_s, "script_s": script_s, "ratio": ratio,
                 "goal_seconds": GOAL_SECONDS, "why_not": why or None},
        "ratios": [{"figure": f"{SCRIPT_LINES}-line script vs structured pipelines", "ratio": ratio,
                    "goal": f"script < {GOAL_SECONDS} s", "met": None if script_s is None else script_s < GOAL_SECONDS}],
    }
