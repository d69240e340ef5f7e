"""When the accuracy property test fails, the lab hypothesis shrank it to becomes a case folder for
review (issue 11, item 7): the faulted lab, what was injected as `expected`, and the causes wrongly
blamed as `unexpected` — the format of fixtures/cases/ (steps/cases.py), so reviewing it is moving
the folder there.

Hypothesis runs the test body for every example it tries while shrinking and replays the minimal
one last; each failure overwrites the same folder, so what stays is the shrunk lab.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from nestlab.simulator import labfile

REPO = Path(__file__).resolve().parent.parent
FOLDER = Path(os.environ.get("NESTLAB_SHRUNK_CASES", REPO / "bench" / "results" / "shrunk-cases"))


def keep(name: str, lab, injected: Iterable[tuple[str, str]], blamed: Iterable[tuple[str, str]],
         why: str, folder: Path = FOLDER) -> Path:
    """Write (or overwrite) case folder NAME; its path, to quote in the failure message."""
    case = folder / name
    case.mkdir(parents=True, exist_ok=True)
    story = " ".join(f"shrunk by hypothesis: {why}".split())[:300]
    labfile.write_atomic(case / "lab.yaml", f"# {story}\n" + labfile.dumps(lab))
    labfile.write_atomic(case / "expected", "".join(f"{rc} {subject}\n" for rc, subject in injected) or "# none\n")
    wrong = sorted({rc for rc, _ in blamed} - {rc for rc, _ in injected})
    labfile.write_atomic(case / "unexpected", "".join(f"{rc}\n" for rc in wrong))
    return case
