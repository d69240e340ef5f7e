"""What a WinRS command line does on a simulated host: cmd.exe, the native programs, powershell.exe.

* `cmd.exe /c LINE` (WinRS's default wrapper): `&&`, `||` and `&` between commands, `>&2` /
  `1>&2` / `2>&1` / `>nul`, and the built-ins `echo` (prints the rest of its text, trailing spaces
  kept: pypsrp's test_winrs_stderr_rc recording shows `echo out && …` as `out \\r\\n`) and
  `exit [/b] N`. An unknown program is cmd's "is not recognized as an internal or external
  command" on stderr, exit 9009. `cmd` without /c reads its command lines from stdin.
* Native programs the simulator knows (`simulator/cmdlets/native.py`: hostname, ipconfig,
  netsh, bcdedit, systeminfo, net, reg) print their lines with CRLF and end with the exit code
  `native.exit_code` gives; `whoami` prints `host\\user` in lower case, as Windows does.
* `powershell[.exe] [-NoProfile] [-NonInteractive] [-ExecutionPolicy P] [-NoLogo]
  [-InputFormat F] [-OutputFormat F] [-WindowStyle W] (-EncodedCommand B64 | -Command TEXT… | -)`
  runs the script through the PowerShell engine seam (`simulator.pwsh.run_script`). Output is
  rendered as PowerShell's console does (`simulator.psformat`), lines ended by LF as the
  recorded powershell.exe output is (test_winrs_operation_timeout: `hi` then `\\n`). With
  -EncodedCommand, errors go to stderr as the CLIXML error stream powershell.exe writes when it
  is not interactive (`#< CLIXML` then `<S S="Error">…_x000D__x000A_</S>` per line, as in
  pywinrm's recorded run_ps answer, winrm/tests/conftest.py); with -Command, as console text.
  The exit code is `exit N`, else 1 when the script failed or wrote an error, else 0.
  `-Command -` (or `-`) reads the script from stdin a line at a time, as powershell.exe does.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Callable

from nestlab.simulator import psformat, pwsh
from nestlab.simulator.cmdlets import native
from nestlab.simulator.psdata import Command, Result

NATIVE = ("hostname", "ipconfig", "netsh", "bcdedit", "systeminfo", "net", "reg")
NOT_RECOGNIZED = 9009
CLIXML_HEADER = "#< CLIXML\r\n"
CLIXML_OBJS = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'


@dataclass
class Program:
    """What a running command has: where it runs, who runs it, its streams."""

    host: str
    user: str
    codepage: int
    execute: pwsh.Executor
    _write: Callable[[str, bytes], None]
    read_line: Callable[[], str | None]

    def write(self, stream: str, text: str) -> None:
        encoding = "utf-8" if self.codepage == 65001 else f"cp{self.codepage}"
        try:
            data = text.encode(encoding, "replace")
        except LookupError:
            data = text.encode("cp437", "replace")
        self._write(stream, data)

    def session_executor(self) -> pwsh.Executor:
        """The host's executor, plus `whoami`, which only the session knows the answer to."""
        def execute(context: str, pipeline: tuple[Command, ...]) -> Result:
            if len(pipeline) == 1 and pipeline[0].name.lower() in ("whoami", "whoami.exe"):
                return Result((self.whoami(),))
            return self.execute(context, pipeline)
        return execute

    def whoami(self) -> str:
        return f"{self.host}\\{self.user}".lower()


# ----------------------------------------------------------------------------------------------
# command lines
# ----------------------------------------------------------------------------------------------


def split_args(line: str) -> list[str]:
    """A command line into argv, by the rules of CommandLineToArgvW (quotes, backslashes before quotes)."""
    args: list[str] = []
    current: list[str] = []
    quoted = started = False
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\":
            run = len(line[i:]) - len(line[i:].lstrip("\\"))
            if i + run < len(line) and line[i + run] == '"':
                current.append("\\" * (run // 2))
                if run % 2:
                    current.append('"')
                    i += run + 1
                else:
                    i += run
                started = True
                continue
            current.append("\\" * run)
            i += run
            started = True
            continue
        if char == '"':
            quoted = not quoted
            started = True
        elif char in " \t" and not quoted:
            if started:
                args.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
        i += 1
    if started:
        args.append("".join(current))
    return args


def run_line(program: Program, line: str, *, through_cmd: bool = True) -> int:
    """Run what WinRS was asked to run; the exit code."""
    if through_cmd:
        return _cmd_line(program, line)
    return _run_program(program, line, "stdout")


def _cmd_line(program: Program, line: str) -> int:
    """cmd.exe: commands joined by &&, || and &, each with its redirections; `exit N` ends them all."""
    code = 0
    operator = "&"
    for segment, next_operator in _cmd_segments(line):
        if operator == "&&" and code != 0 or operator == "||" and code == 0:
            operator = next_operator
            continue
        code, leave = _cmd_segment(program, segment)
        if leave:
            return code
        operator = next_operator
    return code


def _cmd_segments(line: str) -> list[tuple[str, str]]:
    segments: list[tuple[str, str]] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(line):
        char = line[i]
        if char == '"':
            quoted = not quoted
        if not quoted and char in "&|":
            double = line[i : i + 2] in ("&&", "||")
            if char == "&" and i > 0 and line[i - 1] == ">":  # >&2 is a redirection, not a separator
                current.append(char)
                i += 1
                continue
            segments.append(("".join(current), line[i : i + 2] if double else char))
            current = []
            i += 2 if double else 1
            continue
        current.append(char)
        i += 1
    segments.append(("".join(current), "&"))
    return [(text, op) for text, op in segments if text.strip()]


_REDIRECT = re.compile(r"\s*(?:(?P<fd>[12])?>(?P<target>&[12]|nul|NUL))")


def _cmd_segment(program: Program, segment: str) -> tuple[int, bool]:
    """(exit code, whether it was `exit`) of one command of a cmd line."""
    stream = "stdout"
    for match in list(_REDIRECT.finditer(segment)):
        fd, target = match.group("fd") or "1", match.group("target").lower()
        if fd == "1" and target == "&2":
            stream = "stderr"
        elif fd == "1" and target == "nul":
            stream = "nul"
    text = _REDIRECT.sub("", segment)
    stripped = text.lstrip()
    word = stripped.split(None, 1)[0].lower() if stripped.strip() else ""
    if word in ("echo", "echo."):
        rest = stripped[len(word):]
        _emit(program, stream, (rest[1:] if rest.startswith(" ") else rest) + "\r\n")
        return 0, False
    if word == "exit":
        parts = [p for p in stripped.split()[1:] if p.lower() != "/b"]
        return (int(parts[0]) if parts and re.fullmatch(r"-?\d+", parts[0]) else 0), True
    return _run_program(program, stripped, stream), False


def _emit(program: Program, stream: str, text: str) -> None:
    if stream != "nul":
        program.write(stream, text)


def _run_program(program: Program, line: str, stream: str) -> int:
    argv = split_args(line)
    if not argv:
        return 0
    name = argv[0].rsplit("\\", 1)[-1].lower()
    name = name[:-4] if name.endswith(".exe") else name
    if name == "cmd":
        switch = re.search(r"\s/[cCkK](?:\s|$)", line)
        if switch:  # cmd passes the rest of its line on as it was typed, trailing spaces and all
            return _cmd_line(program, line[switch.end():])
        return _cmd(program, argv[1:])
    if name in ("powershell", "pwsh"):
        return powershell(program, argv[1:])
    if name == "whoami":
        _emit(program, stream, program.whoami() + "\r\n")
        return 0
    if name in NATIVE:
        result = program.execute(program.host, (Command(name, (), tuple(argv[1:])),))
        lines = [str(item) for item in result.output]
        _emit(program, stream, "".join(line + "\r\n" for line in lines))
        for error in result.errors:
            program.write("stderr", error.message + "\r\n")
        return native.exit_code(name, lines) or (1 if result.failed else 0)
    program.write("stderr", f"'{argv[0]}' is not recognized as an internal or external command,\r\n"
                            "operable program or batch file.\r\n")
    return NOT_RECOGNIZED


def _cmd(program: Program, args: list[str]) -> int:
    """`cmd /c LINE` runs LINE; `cmd` alone reads command lines from stdin until `exit` or its end."""
    lowered = [a.lower() for a in args]
    for switch in ("/c", "/k"):
        if switch in lowered:
            return _cmd_line(program, " ".join(args[lowered.index(switch) + 1 :]))
    code = 0
    while (line := program.read_line()) is not None:
        code = _cmd_line(program, line)
        if line.strip().lower().startswith("exit"):
            return code
    return code


# ----------------------------------------------------------------------------------------------
# powershell.exe
# ----------------------------------------------------------------------------------------------

_FLAGS = ("noprofile", "noninteractive", "nologo", "noexit", "mta", "sta")
_WITH_VALUE = ("executionpolicy", "inputformat", "outputformat", "windowstyle", "version", "configurationname")


def _matches(arg: str, name: str, *aliases: str) -> bool:
    """powershell.exe accepts any unambiguous prefix of a parameter, and a few short aliases."""
    word = arg.lower().lstrip("-/")
    return word in aliases or (len(word) >= 3 and name.startswith(word))


def powershell(program: Program, args: list[str]) -> int:
    encoded: str | None = None
    command: list[str] | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-" and command is None:
            command = ["-"]
        elif not arg.startswith(("-", "/")) and command is None:
            command = args[i:]
            break
        elif _matches(arg, "encodedcommand", "e", "ec", "enc"):
            encoded = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        elif _matches(arg, "command", "c"):
            command = args[i + 1 :]
            break
        elif _matches(arg, "file", "f"):
            program.write("stderr", "Processing -File is not supported by this simulated host: use -Command or "
                                    "-EncodedCommand.\r\n")
            return 1
        elif any(_matches(arg, flag) for flag in _WITH_VALUE) or arg.lower().lstrip("-") in ("ep", "ex"):
            i += 1
        elif not any(_matches(arg, flag) for flag in _FLAGS):
            program.write("stderr", f"-{arg.lstrip('-')} : The term '{arg}' is not recognized as a parameter of "
                                    "powershell.exe.\r\n")
            return 1
        i += 1
    if encoded is not None:
        try:
            script = base64.b64decode(encoded, validate=True).decode("utf-16-le")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            program.write("stderr", "Cannot process the command because the value specified with -EncodedCommand "
                                    "is not properly encoded. The value must be Base64 encoded.\r\n")
            return 1
        return run_script(program, script, clixml_errors=True, input=_stdin_for(program, script))
    if command in (None, ["-"]):
        code = 0
        while (line := program.read_line()) is not None:
            if line.strip():
                code = run_script(program, line, clixml_errors=False)
        return code
    script = " ".join(command)
    return run_script(program, script, clixml_errors=False, input=_stdin_for(program, script))


_READS_INPUT = re.compile(r"\$input\b", re.IGNORECASE)


def _stdin_for(program: Program, script: str) -> list[str] | None:
    """powershell.exe hands its stdin to a -Command/-EncodedCommand script as `$input`, one string per line.

    powershell.exe reads it lazily; the engine takes its input as a list, so the lines are read up
    to the client's end of stdin, and only for a script that mentions `$input` (any other script
    would wait for an end of stdin that pywinrm's run_ps never sends)."""
    if not _READS_INPUT.search(script):
        return None
    lines: list[str] = []
    while (line := program.read_line()) is not None:
        lines.append(line)
    return lines


def run_script(program: Program, script: str, *, clixml_errors: bool, input: list[str] | None = None) -> int:
    """One script through the engine seam; its streams written as powershell.exe writes them."""
    result = pwsh.run_script(program.session_executor(), program.host, script, input=input)
    for line in result.information:
        program.write("stdout", f"{line}\n")
    shown = psformat.render(list(result.output)) if result.output else ""
    if shown:
        program.write("stdout", shown.rstrip("\n") + "\n")
    command_line = script.strip() if "\n" not in script.strip() else ""
    if clixml_errors:
        if result.errors or result.warnings or result.verbose:
            program.write("stderr", clixml_error_stream(result, command_line))
    else:
        for warning in result.warnings:
            program.write("stdout", f"WARNING: {warning}\n")
        for error in result.errors:
            program.write("stderr", psformat.format_error(error, command_line) + "\n")
    if result.exited:
        return result.exit_code
    # Without `exit`, -Command's code is success or failure only: a native program's non-zero
    # $LASTEXITCODE becomes 1 (PowerShell/PowerShell#13501 describes this, in Windows PowerShell too).
    return 1 if result.failed or result.errors or result.exit_code else 0


def clixml_error_stream(result: pwsh.ScriptResult, command_line: str) -> str:
    """stderr of a non-interactive powershell.exe: `#< CLIXML`, then one <S S="…"> per line of each record."""
    items: list[str] = []

    def add(kind: str, text: str) -> None:
        for line in text.split("\n"):
            items.append(f'<S S="{kind}">{_escape(line)}_x000D__x000A_</S>')

    for warning in result.warnings:
        add("warning", warning)
    for verbose in result.verbose:
        add("verbose", verbose)
    for error in result.errors:
        add("Error", psformat.format_error(error, command_line))
        items.append('<S S="Error"> _x000D__x000A_</S>')
    return CLIXML_HEADER + CLIXML_OBJS + "".join(items) + "</Objs>"


_NEEDS_ESCAPE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)|[\r\n\t]")


def _escape(text: str) -> str:
    """MS-PSRP 2.2.5.1.1: characters XML cannot carry as _xHHHH_ (a literal "_x" escapes its "_"), then XML."""
    encoded = _NEEDS_ESCAPE.sub(lambda m: "_x005F_" if m.group() == "_" else f"_x{ord(m.group()):04X}_", text)
    return encoded.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
