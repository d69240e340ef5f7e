"""What a served host does with the statements of a CREATE_PIPELINE: it runs them on the lab.

Structured cmdlets go straight to the executor (`simulator.powershell.run` on the served lab).
Three script forms are understood, each recognised by shape, never by guessing:
* the PowerShell Direct `WRAPPER` (simulator/endpoint/direct.py): the guest's pipeline, run in
  the guest's context; `BATCH` and `GUEST_BATCH`: several pipelines, on the host or in a guest;
* `Invoke-Expression -Command TEXT | Out-String -Stream`, what pypsrp's `Client.execute_ps`
  sends: TEXT runs through the PowerShell engine (`simulator.pwsh`), output rendered as text lines;
* any other script: through the PowerShell engine (`simulator.pwsh.run_script`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from nestlab.simulator import clixml, pwsh
from nestlab.simulator.endpoint import direct
from nestlab.simulator.endpoint.psrp import Invocation
from nestlab.simulator.model import vm_id
from nestlab.simulator.psdata import Command, ErrorRecord, PSObject, Result

Executor = Callable[[str, tuple[Command, ...]], Result]


@dataclass(frozen=True)
class Outcome(Result):
    """A pipeline's Result and the code a script ended with (`exit N`), which the client learns as
    the host call SetShouldExit(N). A statement whose result has no `exit_code` contributes 0."""

    exit_code: int = 0


def run_statements(execute: Executor, context: str, statements: Sequence[Sequence[Invocation]],
                   input: Sequence[Any] = ()) -> Outcome:
    """Run each statement in order; a failed statement stops the rest, as in PowerShell.

    `input` (the pipeline's PIPELINE_INPUT objects) feeds the first command of the first
    statement: `Write-Output -InputObject <input> | <statement>`. A script statement cannot be
    fed through the engine seam (`pwsh.run_script` takes no input yet), so it runs without.
    """
    output: list[Any] = []
    errors: list[ErrorRecord] = []
    exit_code = 0
    for index, statement in enumerate(statements):
        if index == 0 and input and not statement[0].is_script:
            statement = [_input_source(input), *statement]
        result = _run_statement(execute, context, statement)
        output.extend(result.output)
        errors.extend(result.errors)
        exit_code = getattr(result, "exit_code", 0) or exit_code
        if result.failed:
            return Outcome(tuple(output), tuple(errors), True, exit_code)
    return Outcome(tuple(output), tuple(errors), False, exit_code)


def _input_source(input: Sequence[Any]) -> Invocation:
    command = Command("Write-Output", (("InputObject", list(input)),))
    return Invocation(command.name, False, command)


def _run_statement(execute: Executor, context: str, statement: Sequence[Invocation]) -> Result:
    first = statement[0]
    if first.is_script and first.name.strip() == direct.BATCH:
        return _run_batch(execute, context, first.command)
    if first.is_script and first.name.strip() == direct.GUEST_BATCH:
        return _run_batch(execute, context, first.command, guest=first.command.param("VMName"))
    if first.is_script and first.name.strip() == direct.WRAPPER:
        return _run_in_guest(execute, context, first.command)
    if _is_execute_ps(statement):
        return _as_text(_run_script(execute, context, str(first.command.param("Command") or "")))
    if first.is_script:
        return _run_script(execute, context, first.name)
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
        streamed, terminating = clixml.wire_errors(result)
        output.extend(result.output)
        output.extend(streamed)
        if result.failed:
            output.extend([terminating, f"{marker} failed"] if terminating else [f"{marker} failed"])
    return Result(tuple(output))


def _is_execute_ps(statement: Sequence[Invocation]) -> bool:
    names = [i.name.lower() for i in statement]
    return len(names) == 2 and names == ["invoke-expression", "out-string"] and statement[1].command.has("Stream")


def _run_script(execute: Executor, context: str, text: str) -> Result:
    return pwsh.run_script(execute, context, text).as_result()


def _as_text(result: Result) -> Result:
    """`| Out-String -Stream`: every output object becomes its lines of text."""
    lines: list[str] = []
    for item in result.output:
        lines.extend(text_lines(item))
    return Result(tuple(lines), result.errors, result.failed)


def text_lines(item: Any) -> list[str]:
    """A Format-List-like rendering, enough for a person reading execute_ps output."""
    if not isinstance(item, PSObject):
        return [str(item)]
    width = max((len(k) for k in item), default=0)
    return ["", *(f"{k.ljust(width)} : {_text(item[k])}" for k in item), ""]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(_text(v) for v in value) + "}"
    return str(value)


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
