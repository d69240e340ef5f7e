"""Progress bars for the fleet commands (`nestlab up`, `down`): rich bars on stderr, one per stage.

Threads report steps as they finish (fleet.up brings every host up at once), so the bars and the
log lines go through one rich Progress, which is safe to call from any thread. When stderr is not
a terminal the bars are not drawn and the log lines are printed plainly, as before.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def fleet_progress(stages: dict[str, str], total: int) -> Iterator[tuple[Callable[[str], None], Callable[[str, str], None]]]:
    """(log, step): `log(line)` prints above the bars; `step(stage, what)` advances that stage's bar."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("[dim]{task.fields[last]}"), console=console, transient=True) as progress:
        tasks = {stage: progress.add_task(text, total=total, last="") for stage, text in stages.items()}

        def log(line: str) -> None:
            progress.console.print(escape(line), highlight=False)

        def step(stage: str, what: str) -> None:
            progress.update(tasks[stage], advance=1, last=what)

        yield log, step
