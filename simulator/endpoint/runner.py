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
from nestlab.simulator.endpoint.guest_door import GuestDoor
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


OPEN_DOOR = GuestDoor()  # no served account to check against: every PowerShell Direct call enters


def run_statements(execute: Executor, context: str, statements: Sequence[Sequence[Invocation]],
                   input: Sequence[Any] = (), *, host: Any = None, guests: GuestDoor = OPEN_DOOR) -> Outcome:
    """Run each statement in order; a failed statement stops the rest, as in PowerShell.

    `input` (the pipeline's PIPELINE_INPUT objects) feeds the first command of the first
    statement: `Write-Output -InputObject <input> | <statement>`, or a script's `$input` /
    process block. `host` is the client's host (endpoint.hostcalls) when it has one: scripts'
    Read-Host asks it. `guests` decides whether a PowerShell Direct wrapper may enter its guest
    (endpoint/guest_door.py: the `-Credential` check).
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
        result = _run_statement(execute, context, statement, host, fed, guests)
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
                   input: Sequence[Any] = (), guests: GuestDoor = OPEN_DOOR) -> Result:
    first = statement[0]
    script = first.name.strip() if first.is_script else None
    if script == direct.BATCH:
        return _run_batch(execute, context, first.command, guests=guests)
    if script == direct.FANOUT:
        return _run_fanout(execute, context, first.command, guests)
    if script == direct.HOPS:
        return _run_hops(execute, context, first.command, guests)
    if script in (direct.GUEST_BATCH, direct.GUEST_BATCH_CREDENTIAL, direct.WRAPPER, direct.WRAPPER_CREDENTIAL):
        given = script in (direct.GUEST_BATCH_CREDENTIAL, direct.WRAPPER_CREDENTIAL)
        refused = guests.check(first.command.param("Credential") if given else None, given=given)
        if refused is not None:
            return _failure(refused)
    if script in (direct.GUEST_BATCH, direct.GUEST_BATCH_CREDENTIAL):
        return _run_batch(execute, context, first.command, guest=first.command.param("VMName"), guests=guests)
    if script in (direct.WRAPPER, direct.WRAPPER_CREDENTIAL):
        return _run_in_guest(execute, context, first.command, guests)
    if _is_execute_ps(statement):
        return _as_text(_run_script(execute, context, str(first.command.param("Command") or ""), host=host))
    if first.is_script:
        return _run_script(execute, context, first.name, _script_args(first.command), host=host, input=input)
    return execute(context, tuple(i.command for i in statement))


def _run_in_guest(execute: Executor, context: str, call: Command, guests: GuestDoor = OPEN_DOOR) -> Result:
    vm_name, script = call.param("VMName"), call.param("Script")
    if not isinstance(vm_name, str) or not isinstance(script, str):
        return _failure(parse_error("Invoke-Command needs -VMName and -ScriptBlock"))
    try:
        chain, pipeline = direct.unwrap(vm_name, script)
    except ValueError as exc:
        return _failure(parse_error(str(exc)))
    refused = _bare_hops(guests, len(chain) - 1)
    return _failure(refused) if refused is not None else execute(_inside(context, chain), pipeline)


def _bare_hops(guests: GuestDoor, count: int) -> ErrorRecord | None:
    """A rendered `Invoke-Command -VMName` inside a guest's text carries no -Credential: refused
    where the door requires one (guest_door.py), as Windows would."""
    return guests.check(None, given=False) if count > 0 else None


def _run_hops(execute: Executor, context: str, call: Command, guests: GuestDoor) -> Result:
    """direct.HOPS: each VM of -Path entered with its own -Credentials entry, then the batch inside."""
    path, credentials, texts, marker = (call.param(n) for n in ("Path", "Credentials", "Pipeline", "Marker"))
    path = [path] if isinstance(path, str) else list(path or ())
    credentials = list(credentials) if isinstance(credentials, (list, tuple)) else [credentials]
    if not path or not all(isinstance(v, str) for v in path):
        return _failure(parse_error("the hops need -Path"))
    for index, _ in enumerate(path):
        credential = credentials[index] if index < len(credentials) else None
        refused = guests.check(credential, given=credential is not None)
        if refused is not None:  # the script's catch: every pipeline gets the error and "<marker> failed"
            texts = [texts] if isinstance(texts, str) else list(texts or ())
            return Result(tuple(item for _ in texts for item in (marker, refused, f"{marker} failed")))
    return _run_batch(execute, _inside(context, path), call, guests=guests)


def _inside(context: str, chain: Sequence[str]) -> str:
    for name in chain:
        context = vm_id(context, name)
    return context


def _run_batch(execute: Executor, context: str, call: Command, *, guest: Any = None,
               guests: GuestDoor = OPEN_DOOR) -> Result:
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
                refused = _bare_hops(guests, len(chain))
            else:
                chain, pipeline = direct.unwrap(guest, str(text))
                refused = _bare_hops(guests, len(chain) - 1)
            result = _failure(refused) if refused is not None else execute(_inside(context, chain), pipeline)
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


def _run_fanout(execute: Executor, context: str, call: Command, guests: GuestDoor = OPEN_DOOR) -> Result:
    """direct.FANOUT: BATCH of its host texts, then BATCH's framing inside every Running guest
    below `context`, depth first, each guest introduced by "<marker> guest <path>"; its guests
    are those Get-VM shows Running. Its hops carry no credential: a host whose guests require one
    (`guests`) answers each guest's pipelines with PowerShell Direct's refusal and goes no deeper."""
    texts, marker, levels = call.param("Guest"), call.param("Marker"), call.param("Levels")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, (list, tuple)) or not isinstance(marker, str) or not isinstance(levels, int):
        return _failure(parse_error("the fan-out needs -Guest, -Marker and -Levels"))
    try:
        pipelines = [direct.parse(str(text)) for text in texts]
    except ValueError as exc:
        return _failure(parse_error(str(exc)))
    output: list[Any] = list(_run_batch(execute, context, call, guests=guests).output) if call.param("Pipeline") else []

    def walk(place: str, path: str, left: int) -> None:
        for name in running_guests(execute(place, RUNNING_GUESTS)):
            here = f"{path}/{name}" if path else name
            guest = vm_id(place, name)
            output.append(f"{marker} guest {here}")
            refused = _bare_hops(guests, 1)
            for pipeline in pipelines:
                output.append(marker)
                _frame(output, marker, _failure(refused) if refused is not None else execute(guest, pipeline))
            if left > 1 and refused is None:
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
