"""What a served host does with the statements of a CREATE_PIPELINE: it runs them on the lab.

Structured cmdlets go straight to the executor (`simulator.powershell.run` on the served lab).
Three script forms are understood, each recognised by shape, never by guessing:
* the PowerShell Direct `WRAPPER` (simulator/endpoint/direct.py): the guest's pipeline, run in
  the guest's context; `BATCH` and `GUEST_BATCH`: several pipelines, on the host or in a guest;
* `Invoke-Expression -Command TEXT | Out-String -Stream`, what pypsrp's `Client.execute_ps`
  sends: TEXT runs through the PowerShell engine (`simulator.pwsh`), output rendered as the console's
  lines (`simulator.psformat`), Write-Host/warning/verbose/debug on their own PSRP streams;
* any other script: through the PowerShell engine (`simulator.pwsh.run_script`).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from dataclasses import dataclass, replace

from nestlab.simulator import clixml, psformat, pwsh
from nestlab.simulator.endpoint import direct
from nestlab.simulator.endpoint.streams import StreamedResult
from nestlab.simulator.endpoint.psrp import Invocation
from nestlab.simulator.model import vm_id
from nestlab.simulator.psdata import Command, ErrorRecord, Result
from nestlab.simulator.session_protocol import RUNNING_GUESTS, running_guests

Executor = Callable[[str, tuple[Command, ...]], Result]


@dataclass(frozen=True)
class Outcome(StreamedResult):
    """A pipeline's Result, its other streams, and the code a script ended with (`exit N`), which
    the client learns as the host call SetShouldExit(N). A statement without `exit_code` gives 0.

    `exited` says whether `exit` ran: PowerShell calls SetShouldExit for `exit` only (`exit 0`
    too), never for a script that merely ended after a failing native program. None (a result that
    does not say) counts a non-zero `exit_code` as an exit."""

    exit_code: int = 0
    exited: bool | None = None

    @property
    def should_exit(self) -> bool:
        return bool(self.exit_code) if self.exited is None else self.exited


def run_statements(execute: Executor, context: str, statements: Sequence[Sequence[Invocation]],
                   input: Sequence[Any] = (), *, host: Any = None) -> Outcome:
    """Run each statement in order; a failed statement stops the rest, as in PowerShell.

    `input` (the pipeline's PIPELINE_INPUT objects) feeds the first command of the first
    statement: `Write-Output -InputObject <input> | <statement>`, or a script's `$input` /
    process block. `host` is the client's host (endpoint.hostcalls) when it has one: scripts'
    Read-Host asks it.
    """
    output: list[Any] = []
    errors: list[ErrorRecord] = []
    streams: dict[str, list[str]] = {"warnings": [], "verbose": [], "debug": [], "information": []}
    failed = False
    exit_code, exited = 0, None
    for index, statement in enumerate(statements):
        fed = input if index == 0 else ()
        if fed and not statement[0].is_script:
            statement, fed = [_input_source(fed), *statement], ()
        result = _run_statement(execute, context, statement, host, fed)
        output.extend(result.output)
        errors.extend(result.errors)
        for name, lines in streams.items():
            lines.extend(getattr(result, name, ()))
        if isinstance(result, Outcome) and result.exited is not None:
            exited = bool(exited) or result.exited
        exit_code = getattr(result, "exit_code", 0) or exit_code
        if result.failed:
            failed = True
            break
    return Outcome(tuple(output), tuple(errors), failed, *(tuple(v) for v in streams.values()), exit_code=exit_code,
                   exited=exited)


def _input_source(input: Sequence[Any]) -> Invocation:
    command = Command("Write-Output", (("InputObject", list(input)),))
    return Invocation(command.name, False, command)


def _run_statement(execute: Executor, context: str, statement: Sequence[Invocation], host: Any = None,
                   input: Sequence[Any] = ()) -> Result:
    first = statement[0]
    if first.is_script and first.name.strip() == direct.BATCH:
        return _run_batch(execute, context, first.command)
    if first.is_script and first.name.strip() == direct.GUEST_BATCH:
        return _run_batch(execute, context, first.command, guest=first.command.param("VMName"))
    if first.is_script and first.name.strip() == direct.FANOUT:
        return _run_fanout(execute, context, first.command)
    if first.is_script and first.name.strip() == direct.WRAPPER:
        return _run_in_guest(execute, context, first.command)
    if _is_execute_ps(statement):
        return _as_text(_run_script(execute, context, str(first.command.param("Command") or ""), host=host))
    if first.is_script:
        return _run_script(execute, context, first.name, _script_args(first.command), host=host, input=input)
    return execute(context, tuple(i.command for i in statement))


def _run_in_guest(execute: Executor, context: str, call: Command) -> Result:
    vm_name, script = call.param("VMName"), call.param("Script")
    if not isinstance(vm_name, str) or not isinstance(script, str):
        return _failure(parse_error("Invoke-Command needs -VMName and -ScriptBlock"))
    try:
        chain, pipeline = direct.unwrap(vm_name, script)
    except ValueError as exc:
        return _failure(parse_error(str(exc)))
    return execute(_inside(context, chain), pipeline)


def _inside(context: str, chain: Sequence[str]) -> str:
    for name in chain:
        context = vm_id(context, name)
    return context


def _run_batch(execute: Executor, context: str, call: Command, *, guest: Any = None) -> Result:
    """direct.BATCH: each pipeline's objects after the marker, its errors as objects (`2>&1`).

    direct.GUEST_BATCH (`guest` is its VMName): the same, each text a guest script of that guest.
    """
    texts, marker = call.param("Pipeline"), call.param("Marker")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, (list, tuple)) or not isinstance(marker, str):
        return _failure(parse_error("the batch needs -Pipeline and -Marker"))
    if guest is not None and not isinstance(guest, str):
        return _failure(parse_error("Invoke-Command needs -VMName"))
    output: list[Any] = []
    for text in texts:
        output.append(marker)
        try:
            if guest is None:  # a host-level text may reach a guest itself (direct.host_script)
                chain, pipeline = direct.unwrap_pipeline(direct.parse(str(text)))
                result = execute(_inside(context, chain), pipeline)
            else:
                chain, pipeline = direct.unwrap(guest, str(text))
                result = execute(_inside(context, chain), pipeline)
        except ValueError as exc:
            result = _failure(parse_error(str(exc)))
        _frame(output, marker, result)
    return Result(tuple(output))


def _frame(output: list[Any], marker: str, result: Result) -> None:
    """One pipeline's answer in a batch's output (after its marker): objects, then its errors as
    objects (`2>&1`), then a terminating error caught (`$_`) and "<marker> failed"."""
    streamed, terminating = clixml.wire_errors(result)
    output.extend(result.output)
    output.extend(streamed)
    if result.failed:
        output.extend([terminating, f"{marker} failed"] if terminating else [f"{marker} failed"])


def _run_fanout(execute: Executor, context: str, call: Command) -> Result:
    """direct.FANOUT: BATCH of its host texts, then BATCH's framing inside every Running guest
    below `context`, depth first, each guest introduced by "<marker> guest <path>"; its guests
    are those Get-VM shows Running."""
    texts, marker, levels = call.param("Guest"), call.param("Marker"), call.param("Levels")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, (list, tuple)) or not isinstance(marker, str) or not isinstance(levels, int):
        return _failure(parse_error("the fan-out needs -Guest, -Marker and -Levels"))
    try:
        pipelines = [direct.parse(str(text)) for text in texts]
    except ValueError as exc:
        return _failure(parse_error(str(exc)))
    output: list[Any] = list(_run_batch(execute, context, call).output) if call.param("Pipeline") else []

    def walk(place: str, path: str, left: int) -> None:
        for name in running_guests(execute(place, RUNNING_GUESTS)):
            here = f"{path}/{name}" if path else name
            guest = vm_id(place, name)
            output.append(f"{marker} guest {here}")
            for pipeline in pipelines:
                output.append(marker)
                _frame(output, marker, execute(guest, pipeline))
            if left > 1:
                walk(guest, here, left - 1)

    walk(context, "", levels)
    return Result(tuple(output))


def _is_execute_ps(statement: Sequence[Invocation]) -> bool:
    names = [i.name.lower() for i in statement]
    return len(names) == 2 and names == ["invoke-expression", "out-string"] and statement[1].command.has("Stream")


def _script_args(call: Command) -> list[Any]:
    """add_parameter/add_argument on an add_script command: the script's own arguments."""
    return [*call.arguments, *(pwsh.NamedArgument(name, value) for name, value in call.parameters)]


def _run_script(execute: Executor, context: str, text: str, args: Sequence[Any] = (), *, host: Any = None,
                input: Sequence[Any] = ()) -> Result:
    """A script through the PowerShell engine; its other streams and its exit code ride along.

    `input` is the pipeline's input, the script's `$input` (and its process block's `$_`)."""
    script = pwsh.run_script(execute, context, text, args=args, host=host, input=list(input) if input else None)
    return Outcome(script.output, script.errors, script.failed, script.warnings, script.verbose, script.debug,
                   script.information, exit_code=script.exit_code, exited=script.exited)


def _as_text(result: Result) -> Result:
    """`| Out-String -Stream`: the output as the console's lines of text (psformat's default views)."""
    text = psformat.render(list(result.output))
    lines = tuple(text.splitlines()) if text else ()
    return replace(result, output=lines)


def parse_error(detail: str) -> ErrorRecord:
    return ErrorRecord(
        message=f"The script could not be parsed: {detail}",
        fully_qualified_error_id="ParseException",
        category="ParserError",
        reason="ParseException",
        exception_type="System.Management.Automation.ParseException",
    )


def _failure(error: ErrorRecord) -> Result:
    return Result((), (error,), True)
