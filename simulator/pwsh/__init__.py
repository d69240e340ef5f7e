"""The PowerShell engine of a simulated host: a whole script in, PowerShell's streams out.

This is the one seam through which text written by a person (a script, `execute_ps`, a WinRS
`powershell -EncodedCommand`, `nestlab ps --file`) reaches the simulated cmdlets. The engine
works over an `Executor` — `(context, pipeline) -> Result`, the same call the endpoint and
`SimSession` make for structured pipelines — so it never touches the lab itself: cmdlets stay
the only code that reads or changes state.

Structured `Command` pipelines (the diagnosis's fast path) do not come here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from nestlab.simulator.psdata import Command, ErrorRecord, Result

Executor = Callable[[str, tuple[Command, ...]], Result]


class HostUI(Protocol):
    """What a script's host offers (pypsrp's PSHost over PSRP, `--answer` locally, none on WinRS)."""

    def read_line(self, prompt: str) -> str: ...

    def write(self, text: str) -> None: ...


@dataclass(frozen=True)
class NamedArgument:
    """`-Name value` for a script's param(): how a PSRP client's add_parameter reaches the script."""

    name: str
    value: Any = True


@dataclass(frozen=True)
class ScriptResult:
    """Every stream of a script run, in the order PowerShell keeps them apart.

    `output` is the success stream (objects), `errors` the error stream; `information` holds what
    Write-Host / Write-Information wrote (PowerShell 5's information stream, shown as text on a
    console); `exit_code` is `exit N` or $LASTEXITCODE (0 when neither); `failed` says a
    terminating error stopped the script (PSRP reports the pipeline Failed).
    """

    output: tuple[Any, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()
    warnings: tuple[str, ...] = ()
    verbose: tuple[str, ...] = ()
    debug: tuple[str, ...] = ()
    information: tuple[str, ...] = ()
    exit_code: int = 0
    failed: bool = False
    positions: tuple[str, ...] = ()  # each error's "At line:N char:M" block ("" when it has none)
    # every record in the order written: ("output", obj), ("error", (ErrorRecord, position)),
    # ("warning"|"verbose"|"debug"|"information", text) — what a console prints, in its order
    events: tuple[tuple[str, Any], ...] = ()
    exited: bool = False  # `exit` ran (a remote host then calls SetShouldExit(exit_code)); added by the endpoint

    def as_result(self) -> Result:
        return Result(self.output, self.errors, self.failed)


def run_script(
    execute: Executor,
    context: str,
    text: str,
    *,
    args: Sequence[Any] = (),
    host: HostUI | None = None,
    files: Callable[[str], str | None] | None = None,
    input: Sequence[Any] | None = None,
) -> ScriptResult:
    """Run `text` as a PowerShell script where `context` says (a host id or a VM path).

    `input` is what was piped into the script (a PSRP pipeline's input, a WinRS
    `powershell -` stdin): its `$input`, and each item a `process {}` block's `$_`.

    `files` reads a script a dot-sourced or called path names (`nestlab ps --file` reads the local
    folder); without it a path is CommandNotFound, as on a host that has no such file.
    """
    from nestlab.simulator.pwsh.engine import run  # the engine is imported only when a script runs

    if input is None:
        return run(execute, context, text, args=args, host=host, files=files)
    return run(execute, context, text, args=args, host=host, files=files, input=input)


__all__ = ["Executor", "HostUI", "NamedArgument", "ScriptResult", "run_script"]
