"""The text of one bundle file as the parsers see it: numbered lines, with the noise people
paste taken out (prompts, comments, quote markers) and the commands they typed kept, so each
output is read with the command that produced it when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A prompt: "PS C:\> ", "PS>", "C:\Windows\system32>", a posh-git prompt "C:\dev [master]> ".
_PROMPT = re.compile(r"^\s*(?:PS(?:\s[^>]*)?>|[A-Za-z]:\\[^>]*>)\s?(?P<command>.*)$")
# A command echoed without a prompt (how docs and tickets quote what they ran).
_BARE_COMMAND = re.compile(
    r"^(?:[A-Za-z]+\\)?(?:Get|New|Add|Set|Invoke|Test|Select|Enable|Remove)-[A-Za-z]+(?:\s.*)?$"
    r"|^(?:netsh|systeminfo|bcdedit|reg|msinfo32|wevtutil)(?:\.exe)?(?:\s.*)?$",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"^> ?")
_ERROR_HEAD = re.compile(r"^\S+ : ")  # 'Get-VHD : message' is an error, not a command


@dataclass(frozen=True)
class Line:
    no: int  # 1-based, in the file as sent
    text: str


@dataclass(frozen=True)
class Block:
    """Output lines that follow one command (or the start of the file)."""

    command: str | None
    lines: tuple[Line, ...]

    def paragraphs(self) -> list[list[Line]]:
        """Runs of non-blank lines (PowerShell separates records and tables by blank lines)."""
        out: list[list[Line]] = []
        current: list[Line] = []
        for line in self.lines:
            if line.text.strip():
                current.append(line)
            elif current:
                out.append(current)
                current = []
        if current:
            out.append(current)
        return out


def blocks(text: str, command: str | None = None) -> list[Block]:
    """Split a file into blocks at each prompt or echoed command; drop comment lines.

    `command` is what the bundle's manifest says produced the file (ours always say).
    """
    raw = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "").split("\n")
    content = [t for t in raw if t.strip() and not t.lstrip().startswith("#")]
    quoted = sum(1 for t in content if t.startswith(">")) > len(content) // 2
    logged = _common_log_prefix(content)
    found: list[Block] = []
    current_command, current = command, []
    for no, t in enumerate(raw, start=1):
        t = t.rstrip()
        if quoted:
            t = _QUOTE.sub("", t)
        if logged:
            t = logged.sub("", t, count=1)
        if t.lstrip().startswith("#"):  # a comment ends what came before it
            if current or current_command != command:
                found.append(Block(current_command, tuple(current)))
            current_command, current = None, []
            continue
        prompt = _PROMPT.match(t)
        if prompt or (_BARE_COMMAND.match(t) and not _ERROR_HEAD.match(t) and _at_boundary(current)):
            if current or current_command != command:
                found.append(Block(current_command, tuple(current)))
            current_command = (prompt.group("command") if prompt else t).strip() or None
            current = []
            continue
        current.append(Line(no, t))
    found.append(Block(current_command, tuple(current)))
    return [b for b in found if b.lines or b.command]


def _common_log_prefix(content: list[str]) -> re.Pattern[str] | None:
    """The prefix pattern when every line carries the same log prefix (else None)."""
    if len(content) < 3:
        return None
    if all(re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ", t) for t in content):
        return re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ")
    tags = {m.group(0) for t in content if (m := re.match(r"^\s*[\w-]+: ", t))}
    if len(tags) == 1 and all(t.startswith(next(iter(tags))) for t in content):
        return re.compile("^" + re.escape(next(iter(tags))))
    return None


def _at_boundary(lines: list[Line]) -> bool:
    """A bare command line only counts as one where output could not continue (after a blank)."""
    return not lines or not lines[-1].text.strip()
