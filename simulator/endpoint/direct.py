"""How a pipeline for a guest travels: PowerShell Direct (`Invoke-Command -VMName`) from its host.

A guest has no endpoint of its own, so its pipeline must ride inside a host pipeline as a script
block. This is the one place where PowerShell text is built from data, and it is built only
here: `render` turns structured Commands into text whose every value is a literal (strings in
single quotes with each quote character doubled, `$true`/`$false`/`$null`, numbers, `@(…)`), and
whose command and parameter names must match a strict pattern. The host side runs the constant
`WRAPPER` script (never built from data) with the guest's name and that text as parameters.

`parse` is the exact inverse for the rendered subset; the served endpoint uses it to recover the
structured Commands, and the tests use `parse(render(p)) == p` over arbitrary strings to show
that no value can escape its quotes.

For ("L1", "L2") the text sent to L1 is itself `Invoke-Command -VMName 'L2' -ScriptBlock {…}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from nestlab.simulator.psdata import Command, PSEnum

WRAPPER = (
    "param([string]$VMName, [string]$Script) "
    "Invoke-Command -VMName $VMName -ScriptBlock ([scriptblock]::Create($Script))"
)

BATCH = (
    "param([string[]]$Pipeline, [string]$Marker) "
    "foreach ($text in $Pipeline) { $Marker; "
    "try { & ([scriptblock]::Create($text)) 2>&1 } catch { $_; \"$Marker failed\" } }"
)
"""Several pipelines in one PSRP pipeline: before each pipeline's objects comes `Marker`; its
non-terminating errors arrive merged into the output (`2>&1`) as ErrorRecord objects; a
terminating one arrives caught (`$_`) followed by "<Marker> failed". The marker is a fresh GUID
per batch, so no real output can be mistaken for it."""

WRAPPER_CREDENTIAL = (
    "param([string]$VMName, [string]$Script, [pscredential]$Credential) "
    "Invoke-Command -VMName $VMName -Credential $Credential -ScriptBlock ([scriptblock]::Create($Script))"
)
"""WRAPPER with the guest's credential: PowerShell Direct's `-Credential` is mandatory in the VMName
parameter set (PowerShell-Docs, Invoke-Command, "VMName" syntax). The PSCredential travels as a
parameter (its password a SecureString after the session key exchange), never in script text."""

GUEST_BATCH = (
    "param([string]$VMName, [string[]]$Pipeline, [string]$Marker) "
    "Invoke-Command -VMName $VMName -ArgumentList $Pipeline, $Marker -ScriptBlock { "
    "param([string[]]$Pipeline, [string]$Marker) "
    "foreach ($text in $Pipeline) { $Marker; "
    "try { & ([scriptblock]::Create($text)) 2>&1 } catch { $_; \"$Marker failed\" } } }"
)
"""BATCH run inside a guest through one PowerShell Direct hop: each pipeline is the text
`guest_script` writes for the first guest (a deeper guest's pipeline is a nested Invoke-Command
in that text), so a whole guest level of the walk is one PSRP pipeline, as on a host."""

FANOUT = (
    "param([string[]]$Pipeline, [string[]]$Guest, [string]$Marker, [int]$Levels) "
    "foreach ($text in $Pipeline) { $Marker; "
    "try { & ([scriptblock]::Create($text)) 2>&1 } catch { $_; \"$Marker failed\" } } "
    "$walk = { param([string[]]$Guest, [string]$Marker, [int]$Levels, [string]$Path, [string]$Walk) "
    "foreach ($vm in @(Get-VM | Where-Object { $_.State -eq 'Running' })) { "
    "$here = if ($Path) { $Path + '/' + $vm.Name } else { $vm.Name }; \"$Marker guest $here\"; "
    "Invoke-Command -VMName $vm.Name -ArgumentList $Guest, $Marker, $Levels, $here, $Walk -ScriptBlock { "
    "param([string[]]$Guest, [string]$Marker, [int]$Levels, [string]$Path, [string]$Walk) "
    "foreach ($text in $Guest) { $Marker; "
    "try { & ([scriptblock]::Create($text)) 2>&1 } catch { $_; \"$Marker failed\" } } "
    "if ($Levels -gt 1) { & ([scriptblock]::Create($Walk)) $Guest $Marker ($Levels - 1) $Path $Walk } } } }; "
    "& $walk $Guest $Marker $Levels '' $walk.ToString()"
)
"""BATCH of `Pipeline` on the host (texts as `host_script` writes them), then the `Guest` texts
(`render`ed pipelines) in every Running guest below the host, down to `Levels` levels
(Request.guest_levels), all in one PSRP pipeline. Before each guest's pipelines comes
"<Marker> guest <path below the host>", then BATCH's framing of them. The walk is depth first on
the host; the reader orders guests parents first. A guest PowerShell Direct cannot enter answers
its pipelines with Invoke-Command's error."""

GUEST_BATCH_CREDENTIAL = (
    "param([string]$VMName, [string[]]$Pipeline, [string]$Marker, [pscredential]$Credential) "
    "Invoke-Command -VMName $VMName -Credential $Credential -ArgumentList $Pipeline, $Marker -ScriptBlock { "
    "param([string[]]$Pipeline, [string]$Marker) "
    "foreach ($text in $Pipeline) { $Marker; "
    "try { & ([scriptblock]::Create($text)) 2>&1 } catch { $_; \"$Marker failed\" } } }"
)
"""GUEST_BATCH with the guest's credential (as WRAPPER_CREDENTIAL)."""

HOPS = (
    "param([string[]]$Path, [object[]]$Credentials, [string[]]$Pipeline, [string]$Marker) "
    "$hop = { param([string[]]$Path, [object[]]$Credentials, [string[]]$Pipeline, [string]$Marker, [string]$Hop) "
    "if (@($Path).Count -eq 0) { foreach ($text in $Pipeline) { $Marker; "
    "try { & ([scriptblock]::Create($text)) 2>&1 } catch { $_; \"$Marker failed\" } }; return } "
    "$call = @{ VMName = @($Path)[0]; ScriptBlock = [scriptblock]::Create($Hop); ArgumentList = @("
    "@(@($Path) | Select-Object -Skip 1), @(@($Credentials) | Select-Object -Skip 1), $Pipeline, $Marker, $Hop) }; "
    "if (@($Credentials)[0]) { $call.Credential = @($Credentials)[0] }; "
    "try { Invoke-Command @call -ErrorAction Stop } "
    "catch { $failure = $_; foreach ($text in $Pipeline) { $Marker; $failure; \"$Marker failed\" } } }; "
    "& $hop $Path $Credentials $Pipeline $Marker $hop.ToString()"
)
"""BATCH run in a guest any levels deep, one PowerShell Direct hop per VM of `Path`, each with its
own credential (`Credentials[i]`, or $null for none): the recursion is this constant script passing
itself on, so no credential is ever in script text. The texts are the innermost pipelines, rendered
(`render`). A hop that cannot be made gives every pipeline its error and "<Marker> failed"."""

# PowerShell's tokenizer accepts these four as single quotes besides U+0027 (CharTraits.IsSingleQuote).
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*\Z")
_PARAMETER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class ScriptBlock:
    """A `{ … }` literal in rendered text: the pipeline it holds."""

    pipeline: tuple[Command, ...]


def quote(text: str) -> str:
    """A single-quoted PowerShell string literal: nothing inside it is ever interpreted."""
    return "'" + "".join(c + c if c in SINGLE_QUOTES else c for c in text) + "'"


def render_value(value: Any) -> str:
    if value is True:
        return "$true"
    if value is False:
        return "$false"
    if value is None:
        return "$null"
    if isinstance(value, PSEnum):
        return quote(value.name)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, ScriptBlock):
        return "{ " + render(value.pipeline) + " }"
    if isinstance(value, (list, tuple)):
        return "@(" + ", ".join(render_value(v) for v in value) + ")"
    if isinstance(value, dict):
        return "@{" + "; ".join(f"{quote(str(k))}={render_value(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"cannot render a {type(value).__name__} as a PowerShell literal")


def render_command(command: Command) -> str:
    if not _NAME.match(command.name):
        raise ValueError(f"not a command name: {command.name!r}")
    parts = [command.name]
    for name, value in command.parameters:
        if not _PARAMETER.match(name):
            raise ValueError(f"not a parameter name: {name!r}")
        parts.append(f"-{name}:{render_value(value)}")
    parts.extend(render_value(a) for a in command.arguments)
    return " ".join(parts)


def render(pipeline: Sequence[Command]) -> str:
    if not pipeline:
        raise ValueError("an empty pipeline cannot be rendered")
    return " | ".join(render_command(c) for c in pipeline)


def wrapped(vm: Sequence[str], pipeline: Sequence[Command]) -> tuple[Command, ...]:
    """The pipeline as run from outside `vm`: one `Invoke-Command -VMName` per level, outermost first."""
    inner: tuple[Command, ...] = tuple(pipeline)
    for name in reversed(vm):
        inner = (Command("Invoke-Command", (("VMName", name), ("ScriptBlock", ScriptBlock(inner)))),)
    return inner


def guest_script(vm: Sequence[str], pipeline: Sequence[Command]) -> str:
    """The script text for the first guest of `vm`: deeper guests are nested Invoke-Commands."""
    return render(wrapped(vm[1:], pipeline))


def host_script(vm: Sequence[str], pipeline: Sequence[Command]) -> str:
    """The script text for the host itself, reaching the guest `vm` (if any) by PowerShell Direct."""
    return render(wrapped(vm, pipeline))


def unwrap_pipeline(pipeline: tuple[Command, ...]) -> tuple[tuple[str, ...], tuple[Command, ...]]:
    """(guest chain, innermost pipeline) of a pipeline that `wrapped` built; ((), p) otherwise."""
    chain: list[str] = []
    while len(pipeline) == 1 and pipeline[0].name.lower() == "invoke-command":
        block, name = pipeline[0].param("ScriptBlock"), pipeline[0].param("VMName")
        if not isinstance(block, ScriptBlock) or not isinstance(name, str):
            break
        chain.append(name)
        pipeline = block.pipeline
    return tuple(chain), pipeline


def unwrap(vm_name: str, script: str) -> tuple[tuple[str, ...], tuple[Command, ...]]:
    """(guest chain, pipeline) that a WRAPPER call with these parameters carries."""
    chain, pipeline = unwrap_pipeline(parse(script))
    return (vm_name, *chain), pipeline


# ----------------------------------------------------------------------------------------------
# parse: the rendered subset only
# ----------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>[%s](?:[^%s]|[%s]{2})*[%s])
      | (?P<param>-[A-Za-z_][A-Za-z0-9_]*:?)
      | (?P<var>\$(?:true|false|null)\b)
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<open>@\(|@\{|\{)
      | (?P<close>\)|\})
      | (?P<punct>[|,;=])
      | (?P<word>[A-Za-z][A-Za-z0-9_.\-]*)
    )"""
    % ((SINGLE_QUOTES,) * 4),
    re.VERBOSE | re.IGNORECASE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"unexpected text at {position}: {text[position:position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def pipeline(self) -> tuple[Command, ...]:
        commands = [self.command()]
        while self.peek() == ("punct", "|"):
            self.take()
            commands.append(self.command())
        return tuple(commands)

    def command(self) -> Command:
        kind, name = self.take()
        if kind != "word":
            raise ValueError(f"expected a command name, found {name!r}")
        parameters: list[tuple[str, Any]] = []
        arguments: list[Any] = []
        while self.peek()[0] not in ("end",) and self.peek() != ("punct", "|") and self.peek() != ("close", "}"):
            kind, text = self.peek()
            if kind == "param":
                self.take()
                if text.endswith(":"):
                    parameters.append((text[1:-1], self.value()))
                else:
                    parameters.append((text[1:], True))
            else:
                arguments.append(self.value())
        return Command(name, tuple(parameters), tuple(arguments))

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            body = text[1:-1]
            return re.sub(f"([{SINGLE_QUOTES}])\\1", r"\1", body)
        if kind == "var":
            return {"$true": True, "$false": False, "$null": None}[text.lower()]
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "word":
            return text
        if (kind, text) == ("open", "{"):
            inner = self.pipeline()
            if self.take() != ("close", "}"):
                raise ValueError("unclosed script block")
            return ScriptBlock(inner)
        if (kind, text) == ("open", "@{"):  # a hashtable, as render writes it: @{'key'=value; …}
            table: dict[Any, Any] = {}
            while self.peek() != ("close", "}"):
                key = self.value()
                if self.take() != ("punct", "="):
                    raise ValueError("expected '=' in a hashtable")
                table[key] = self.value()
                if self.peek() == ("punct", ";"):
                    self.take()
            self.take()
            return table
        if (kind, text) == ("open", "@("):
            items: list[Any] = []
            while self.peek() != ("close", ")"):
                items.append(self.value())
                if self.peek() == ("punct", ","):
                    self.take()
            self.take()
            return tuple(items)
        raise ValueError(f"expected a value, found {text!r}")


def parse(text: str) -> tuple[Command, ...]:
    """The Commands of text that `render` wrote (lists come back as tuples)."""
    parser = _Parser(text)
    pipeline = parser.pipeline()
    if parser.peek()[0] != "end":
        raise ValueError(f"unexpected {parser.peek()[1]!r} after the pipeline")
    return pipeline
