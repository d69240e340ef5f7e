"""The engine: parse a whole script (nothing runs if any of it does not parse), then run it.

`run` is what `pwsh.run_script` calls. Statement-terminating errors are reported and the script
goes on; a script-terminating one (`throw`, `-ErrorAction Stop`, uncaught) ends it and marks the
run failed, as PSRP reports a Failed pipeline; `exit N` ends it with that code.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from nestlab.simulator.pwsh import NamedArgument, ScriptResult
from nestlab.simulator.pwsh.errors import Break, Exit, ParseError, ScriptError
from nestlab.simulator.pwsh.evaluator import Evaluator
from nestlab.simulator.pwsh.functions import from_node
from nestlab.simulator.pwsh.parse import parse
from nestlab.simulator.pwsh.session import Session
from nestlab.simulator.pwsh.values import Hashtable, to_number

NO_NEWLINE = "\x00"


def run(execute: Callable, context: str, text: str, *, args: Sequence[Any] = (), host: Any = None,
        files: Callable[[str], str | None] | None = None, input: Sequence[Any] | None = None) -> ScriptResult:
    session = Session(execute, context, host=host, files=files, script_text=text)
    return _run(session, text, args, input)


def run_in(execute: Callable, context: str, text: str, *, args: Sequence[Any] = (), parent: Session) -> ScriptResult:
    """A script block run elsewhere (Invoke-Command -VMName): a fresh session there, same host and clock."""
    session = Session(execute, context, host=parent.host, files=None, script_text=text)
    session.clock = parent.clock
    result = _run(session, text, args)
    parent.clock = session.clock
    return result


def _run(session: Session, text: str, args: Sequence[Any], input: Sequence[Any] | None = None) -> ScriptResult:
    try:
        script = parse(text)
    except ParseError as error:
        where = error.position.render() if error.position else ""
        return ScriptResult(errors=(error.record,), positions=(where,), failed=True, exit_code=1,
                            events=(("error", (error.record, where)),))
    output: list[Any] = []
    exit_code: int | None = None
    failed = False
    try:
        program = from_node("", script.root, script)
        session.top_block = program.end
        session.program = program
        evaluator = Evaluator(session, script)
        output.extend(_run_program(session, evaluator, program, list(args), input))
    except Exit as stop:
        exit_code = stop.code
        output.extend(getattr(stop, "partial", []))
    except ScriptError as error:
        output.extend(getattr(error, "partial", []))
        session.report(error)
        failed = True
    except Break:
        pass  # a `break` outside any loop ends the script, as in PowerShell
    if exit_code is None and session.should_exit is not None:
        exit_code = session.should_exit  # $Host.SetShouldExit(n) without `exit`: a remote host ends with n
    exited = exit_code is not None
    if exit_code is None:
        last = session.last_exit_code
        exit_code = int(to_number(last)) if isinstance(last, (int, float, str)) and str(last).strip().lstrip("-").isdigit() else 0
        if failed and exit_code == 0:
            exit_code = 1
    return ScriptResult(
        output=tuple(output), errors=tuple(session.errors), warnings=tuple(session.warnings),
        verbose=tuple(session.verbose), debug=tuple(session.debug),
        information=tuple(line.replace(NO_NEWLINE, "") for line in session.information),
        exit_code=exit_code, failed=failed, positions=tuple(session.positions), events=_events(session, output),
        exited=exited)


def _events(session: Session, output: list[Any]) -> tuple[tuple[str, Any], ...]:
    """Every record of every stream in the order it was written: what a console prints, in order."""
    streams = {"error": session.errors, "warning": session.warnings, "verbose": session.verbose,
               "debug": session.debug, "information": session.information}
    out: list[tuple[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    shown = 0
    for kind, index in session.events:
        if kind == "output":
            out.extend(("output", item) for item in output[shown:index])
            shown = max(shown, index)
            continue
        stream = streams[kind]
        if (kind, index) in seen or index >= len(stream):
            continue
        seen.add((kind, index))
        value = stream[index]
        if kind == "error":
            value = (value, session.positions[index] if index < len(session.positions) else "")
        elif kind == "information":
            value = value.replace(NO_NEWLINE, "")
        out.append((kind, value))
    out.extend(("output", item) for item in output[shown:])
    return tuple(out)


def _run_program(session: Session, evaluator: Evaluator, program: Any, args: list[Any],
                 input: Sequence[Any] | None = None) -> list[Any]:
    named, positional = Hashtable(), []
    i = 0
    while i < len(args):  # `script.ps1 -Name value`: script arguments bind like a function's
        value = args[i]
        if isinstance(value, NamedArgument):
            named[value.name] = value.value
            i += 1
            continue
        if isinstance(value, str) and value.startswith("-") and len(value) > 1 and value[1].isalpha():
            takes = i + 1 < len(args) and not (isinstance(args[i + 1], str) and args[i + 1].startswith("-"))
            switch = any(p.name.lower() == value[1:].lower() and p.is_switch for p in program.parameters)
            if takes and not switch:
                named[value[1:]] = args[i + 1]
                i += 2
                continue
            named[value[1:]] = True
            i += 1
            continue
        positional.append(value)
        i += 1
    return session.call(program, positional, named, input, dot=True)
