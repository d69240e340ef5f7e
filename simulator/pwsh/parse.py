"""Script text → a tree-sitter-powershell syntax tree, or PowerShell's own ParseException.

The grammar (tree-sitter-powershell) is case-sensitive where PowerShell is not in two places
scripts use all the time: size suffixes (`4GB` reads as a command name) and bareword lists in
command arguments (`Select-Object Name, State` is an ERROR). `normalize` rewrites exactly those
spans, found from the first tree (never inside strings or comments), and parses again; anything
still wrong is reported at its position in the text as written, nothing of the script runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter
import tree_sitter_powershell

from nestlab.simulator.pwsh.errors import ParseError, Position, parse_exception

SUFFIX = re.compile(r"^(\d+(?:\.\d+)?)(kb|mb|gb|tb|pb)$", re.IGNORECASE)
BAREWORD = re.compile(r"[^\s,'\"$@(){};|`]+")


@dataclass(frozen=True)
class Script:
    """A parsed script: its tree and the source bytes every node's text is read from."""

    tree: tree_sitter.Tree
    source: bytes
    original: bytes = b""
    rounds: tuple[tuple[tuple[int, int, int], ...], ...] = ()  # the normalize edits, to map positions back
    namespaces: tuple[str, ...] = ()  # `using namespace X` at the top: [Name] may mean [X.Name]

    @property
    def root(self) -> tree_sitter.Node:
        return self.tree.root_node

    def text(self, node: tree_sitter.Node) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def position(self, node: tree_sitter.Node) -> Position:
        """Where a node is in the script as written (normalize's edits mapped back)."""
        start, end = self.to_original(node.start_byte), self.to_original(node.end_byte)
        source = self.original or self.source
        return position_at(source, start, max(1, min(end, _line_end(source, start)) - start))

    def to_original(self, offset: int) -> int:
        for edits in reversed(self.rounds):
            shift = 0
            for start, old, new in edits:
                if offset >= start + new + shift:
                    shift += new - old
                elif offset >= start + shift:
                    offset = start + shift
                    break
            offset -= shift if offset >= 0 else 0
        return offset


@lru_cache(maxsize=1)
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


@lru_cache(maxsize=256)
def parse(text: str) -> Script:
    """Parse a whole script; ParseError (PowerShell's ParseException) if any of it is not PowerShell.

    Cached by text (a Script is never changed once parsed; a ParseError is not cached): a script
    block run once per VM (`Invoke-Command -VMName $vm -ScriptBlock {…}` in a loop) is parsed
    once, not once per VM (issue 17 item 4)."""
    source = text.lstrip("\ufeff").encode("utf-8")
    fixed, namespaces = _using_statements(source)
    fixed = _join_else(fixed)
    first = _parser().parse(fixed)
    tree = first
    rounds: list[tuple[tuple[int, int, int], ...]] = []
    for _ in range(4):
        edits = list(_edits(tree.root_node, fixed))
        if not edits:
            break
        fixed, applied = _apply(fixed, edits)
        rounds.append(applied)
        tree = _parser().parse(fixed)
    script = Script(tree, fixed, source, tuple(rounds), namespaces)
    if tree.root_node.has_error:  # what is still wrong, where it is in the text as written
        raise _syntax_error(tree.root_node, fixed,
                            lambda at, width=1: position_at(source, script.to_original(at), width))
    return script


# -- the two grammar gaps ------------------------------------------------------------------------------

USING = re.compile(rb"(?is)(?:[ \t]*(?:#[^\n]*)?\r?\n|[ \t]*<#.*?#>[ \t]*\r?\n)*")
USING_LINE = re.compile(rb"(?i)[ \t]*using[ \t]+(namespace|module|assembly)[ \t]+([^\r\n;#]+?)[ \t]*;?[ \t]*(?=\r?\n|\Z)")


def _using_statements(source: bytes) -> tuple[bytes, tuple[str, ...]]:
    """`using namespace X` (PowerShell 5), which must come before any other statement and which the
    grammar does not know: each becomes a comment of the same length (positions stay), and its
    namespace is kept for type names. `using module`/`using assembly` load code a simulated host
    has none of; they are kept as comments too and named nowhere else."""
    out = bytearray(source)
    namespaces: list[str] = []
    at = 0
    while True:
        at = USING.match(bytes(out), at).end()
        m = USING_LINE.match(bytes(out), at)
        if not m:
            break
        if m.group(1).lower() == b"namespace":
            namespaces.append(m.group(2).decode("utf-8", "replace").strip())
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
        out[start:start + 1] = b"#"
        at = m.end()
    _fold_header_attributes(out, at)
    return bytes(out), tuple(namespaces)


def _fold_header_attributes(out: bytearray, at: int) -> None:
    """A script's attributes before its param() spread over lines (`[SuppressMessageAttribute(\n…)]`):
    the grammar wants each on one line, so the line breaks inside one become spaces (same length)."""
    while True:
        at = USING.match(bytes(out), at).end()
        while at < len(out) and out[at:at + 1] in (b" ", b"\t"):
            at += 1
        if out[at:at + 1] != b"[":
            return
        depth, i, quote = 0, at, b""
        while i < len(out):
            c = out[i:i + 1]
            if quote:
                if c == quote:
                    quote = b""
            elif c in (b"'", b'"'):
                quote = c
            elif c == b"[":
                depth += 1
            elif c == b"]":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        else:
            return
        for j in range(at, i):
            if out[j:j + 1] in (b"\r", b"\n"):
                out[j:j + 1] = b" "
        at = i + 1


STRINGS = ("expandable_string_literal", "verbatim_string_characters", "expandable_here_string_literal",
           "verbatim_here_string_characters", "comment")
BLANK_LINE = re.compile(rb"(?m)^[ \t]+(?=\r?$)")
PARAM_BLOCK = re.compile(r"((?:\s*\[[^\]]*\]\s*)*)param\s*\(", re.IGNORECASE)  # attributes, then param(
ARGUMENT_WORD = re.compile(rb"[^\s'\"`(){}|;,]+")


def _edits(node: tree_sitter.Node, source: bytes):
    """(start, end, replacement) for the grammar's gaps, found from the tree (never inside strings)."""
    if node.has_error:
        yield from _blank_lines(node, source)
        yield from _hash_after_escape(source)
        yield from _generic_arity(source)
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in ("command_name", "generic_token", "simple_name") and SUFFIX.match(_t(source, n)):
            yield (n.start_byte, n.end_byte, _t(source, n).lower().encode())
            continue
        if n.type in ("decimal_integer_literal", "real_literal"):
            suffix = source[n.end_byte:n.end_byte + 2]
            after = source[n.end_byte + 2:n.end_byte + 3]
            if suffix.lower() in (b"kb", b"mb", b"gb", b"tb", b"pb") and suffix != suffix.lower() \
                    and not (after.isalnum() or after == b"_"):
                yield (n.end_byte, n.end_byte + 2, suffix.lower())
            continue
        lead = PARAM_BLOCK.match(_t(source, n)) if n.type == "ERROR" else None
        if lead and n.parent is not None and n.parent.type == "function_statement":
            edit = _after_param_block(source, n.start_byte + len(lead.group(1).encode()))
            if edit:
                yield edit
                continue
        if n.type == "ERROR" and _t(source, n).lower().endswith(".foreach"):
            found = _foreach_call(source, n.end_byte)
            if found:
                yield from found
                continue
        if n.type == "switch_statement" and n.has_error:
            body = next((c for c in n.children if c.type == "switch_body"), None) or n
            found = list(_switch_separators(source, body.start_byte, n.end_byte))
            if found:
                yield from found
                continue
        if n.type == "argument_list" and n.parent is not None and n.parent.type == "command_elements" \
                and n.prev_sibling is not None and _innermost(n.prev_sibling).type == "member_access" \
                and n.prev_sibling.end_byte == n.start_byte and source[n.end_byte:n.end_byte + 1] == b".":
            end = _member_chain_end(source, n.end_byte)  # `-P $c.Get().Password`: one expression
            yield (n.prev_sibling.start_byte, n.prev_sibling.start_byte, b"(")
            yield (end, end, b")")
            continue
        if n.type == "variable" and source[n.end_byte:n.end_byte + 1] == b"\\" and _in_command_arguments(n):
            m = ARGUMENT_WORD.match(source, n.start_byte)  # `$env:windir\System32`: one expandable word
            if m:
                yield (n.start_byte, m.end(), b'"' + m.group(0) + b'"')
                continue
        if n.type == "generic_token" and (_t(source, n).startswith(",") or _followed_by_comma(source, n.end_byte)):
            edit = _quote_list(source, n.start_byte)
            if edit:
                yield edit
                continue
        stack.extend(reversed(n.children))


def _code_mask(source: bytes) -> bytearray:
    """For each byte: 0 in code, b'"' inside a double-quoted string, 1 elsewhere ('…', here-strings,
    comments) — a small lexer for the rewrites a broken tree cannot place."""
    mask = bytearray(len(source))
    i, n = 0, len(source)
    state = ""
    while i < n:
        c = source[i:i + 1]
        if state == "":
            j = i
            if c == b"#":
                j = source.find(b"\n", i)
                j = n if j < 0 else j
            elif source[i:i + 2] == b"<#":
                j = source.find(b"#>", i + 2)
                j = n if j < 0 else j + 2
            elif source[i:i + 2] in (b'@"', b"@'") and source[i + 2:i + 3] in (b"\r", b"\n"):
                j = source.find(b"\n" + source[i + 1:i + 2] + b"@", i + 2)
                j = n if j < 0 else j + 3
            if j != i:
                mask[i:j] = b"\x01" * (j - i)
                i = j
                continue
            if c in (b"'", b'"'):
                state = c.decode()
                mask[i] = 1 if c == b"'" else 34
            elif c == b"`":
                i += 1
            i += 1
            continue
        mark = 1 if state == "'" else 34
        mask[i] = mark
        if c == b"`" and state == '"':  # an escape: the next character is the string's
            if i + 1 < n:
                mask[i + 1] = mark
            i += 2
            continue
        if c == state.encode():
            if source[i + 1:i + 2] == c:  # a doubled quote is the quote itself
                mask[i + 1] = mark
                i += 2
                continue
            state = ""
        i += 1
    return mask


def _hash_after_escape(source: bytes):
    """`"…`r`n# SIG …"`: after an escape sequence the grammar starts a comment at `#`, inside the
    string, and loses every quote after it. "`#" is the same character in PowerShell (an unknown
    escape is the character itself), so a backtick goes before each such `#` in a double-quoted
    string (never in '…', here-strings or comments)."""
    for m in _in_code(source, rb"`[^#`]#", 34):
        yield (m.end() - 1, m.end() - 1, b"`")


def _generic_arity(source: bytes):
    """`[System.Collections.Generic.List`1[Hashtable]]`: the grammar reads the backtick as an escape and
    fails; `List[Hashtable]` is the same type in PowerShell, so the arity goes (in code only)."""
    for m in _in_code(source, rb"(?<=\w)`\d+(?=\[)", 0):
        yield (m.start(), m.end(), b"")


def _in_code(source: bytes, pattern: bytes, where: int):
    """Matches of `pattern` that start where the lexer says `where` (0 code, 34 a double-quoted string)."""
    mask = None
    for m in re.finditer(pattern, source):
        mask = mask if mask is not None else _code_mask(source)
        if mask[m.start()] == where:
            yield m


ELSE_ON_NEXT_LINE = re.compile(rb"\}([ \t]*\r?\n[\s]*)(?=(?i:else|elseif)\b)")


def _join_else(source: bytes) -> bytes:
    """`if (…) { … }` then `else {` on the next line: one statement in PowerShell, but the grammar
    reads the `else` of `$x = if …` as a command. The line breaks between become spaces (same
    length, so positions stay)."""
    mask = None
    out = bytearray(source)
    for m in ELSE_ON_NEXT_LINE.finditer(source):
        mask = mask if mask is not None else _code_mask(source)
        if mask[m.start()] == 0:
            for j in range(m.start(1), m.end(1)):
                if out[j:j + 1] in (b"\r", b"\n"):
                    out[j:j + 1] = b" "
    return bytes(out)


def _in_command_arguments(node: tree_sitter.Node) -> bool:
    parent = node.parent
    while parent is not None and parent.type not in ("command_elements", "statement_block", "script_block", *STRINGS):
        parent = parent.parent
    return parent is not None and parent.type == "command_elements"


def _innermost(node: tree_sitter.Node) -> tree_sitter.Node:
    while node.child_count == 1 and node.children[0].is_named:
        node = node.children[0]
    return node


def _blank_lines(root: tree_sitter.Node, source: bytes):
    """Lines of only spaces trip the grammar inside script-block arguments; empty them (not in strings)."""
    strings: list[tuple[int, int]] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type in STRINGS:
            strings.append((n.start_byte, n.end_byte))
            continue
        stack.extend(n.children)
    for m in BLANK_LINE.finditer(source):
        if not any(a <= m.start() < b for a, b in strings):
            yield (m.start(), m.end(), b"")


def _member_chain_end(source: bytes, at: int) -> int:
    """The end of `.Name`, `.Name(…)` links from `at`."""
    text = source[at:at + 500].decode("utf-8", "replace")
    m = re.match(r"(?:\.\w+(?:\([^()]*\))?)+", text)
    return at + len(text[:m.end()].encode()) if m else at


def _after_param_block(source: bytes, start: int) -> tuple[int, int, bytes] | None:
    """`function f { param($a) $a }`: the grammar wants the param block to end its line; a `;` does."""
    text = source[start:].decode("utf-8", "replace")
    depth, i = 0, text.find("(")
    while 0 <= i < len(text):
        c = text[i]
        if c in "'\"":
            j = text.find(c, i + 1)
            i = len(text) if j < 0 else j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                at = start + len(text[:i + 1].encode())
                nxt = text[i + 1:i + 2]
                return (at, at + 1, b";") if nxt in (" ", "\t") else (at, at, b";")
        i += 1
    return None


def _foreach_call(source: bytes, at: int):
    """`$a.ForEach({ … })`: the grammar knows only `$a.ForEach{ … }`, the same call; drop the parentheses."""
    text = source[at:].decode("utf-8", "replace")
    if not text.startswith("(") or not text[1:].lstrip().startswith("{"):
        return
    for i, depth in _closings(text, "(", ")"):
        if depth == 0:
            close = at + len(text[:i].encode())
            yield (at, at + 1, b"")
            yield (close, close + 1, b"")
            return


def _switch_separators(source: bytes, start: int, end: int):
    """`switch ($x) { 'a' { 1 } 'b' { 2 } }` on one line: a `;` after each clause (the grammar wants one)."""
    text = source[start:end].decode("utf-8", "replace")
    for i, depth in _closings(text, "{", "}"):
        if depth == 1:
            rest = text[i + 1:].lstrip(" \t")
            if rest and rest[0] not in "};\r\n#":
                at = start + len(text[:i + 1].encode())
                yield (at, at + 1, b";") if text[i + 1:i + 2] in (" ", "\t") else (at, at, b";")


def _closings(text: str, opening: str, closing: str):
    """(index, depth after it) of each `closing` bracket outside quoted strings: the scan both
    rewrites above need."""
    depth, i = 0, 0
    while i < len(text):
        c = text[i]
        if c in "'\"":
            j = text.find(c, i + 1)
            i = len(text) if j < 0 else j + 1
            continue
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            yield i, depth
        i += 1


def _t(source: bytes, n: tree_sitter.Node) -> str:
    return source[n.start_byte:n.end_byte].decode("utf-8", "replace")


def _followed_by_comma(source: bytes, at: int) -> bool:
    rest = source[at:at + 200].decode("utf-8", "replace")
    return rest.lstrip(" \t").startswith(",")


def _quote_list(source: bytes, start: int) -> tuple[int, int, bytes] | None:
    """`Name, State,@{…}` → `'Name', 'State',@{…}`: each bareword item of the list quoted."""
    text = source[start:].decode("utf-8", "replace")
    out, i, changed = [], 0, False
    while True:
        lead = len(text[i:]) - len(text[i:].lstrip(" \t"))
        out.append(text[i:i + lead])
        i += lead
        m = BAREWORD.match(text, i)
        if m and not m.group(0).startswith("-"):
            out.append("'" + m.group(0).replace("'", "''") + "'")
            changed = True
            i = m.end()
        else:
            break
        gap = len(text[i:]) - len(text[i:].lstrip(" \t"))
        if text[i + gap:i + gap + 1] != ",":
            break
        out.append(text[i:i + gap + 1])
        i += gap + 1
    if not changed:
        return None
    consumed = len("".join(out).encode()) - 0
    original = text[:i].encode()
    return (start, start + len(original), "".join(out).encode()) if consumed else None


def _apply(source: bytes, edits: list[tuple[int, int, bytes]]) -> tuple[bytes, tuple[tuple[int, int, int], ...]]:
    """Apply non-overlapping edits; also return them as (start, old length, new length), ascending."""
    out = bytearray(source)
    taken: list[tuple[int, int]] = []
    applied: list[tuple[int, int, int]] = []
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        if any(s < end and start < e or s == start for s, e in taken):
            continue
        out[start:end] = new
        taken.append((start, end))
        applied.append((start, end - start, len(new)))
    return bytes(out), tuple(sorted(applied))


# -- errors -------------------------------------------------------------------------------------------

def _syntax_error(root: tree_sitter.Node, source: bytes, locate) -> ParseError:
    open_string = _unterminated_string(source)
    if open_string is not None:
        quote, at = open_string
        return parse_exception(f"The string is missing the terminator: {quote}.", "TerminatorExpectedAtEndOfString",
                               locate(at))
    bad = _first_bad(root)
    assert bad is not None
    if bad.is_missing:
        kind = bad.type
        at = bad.start_byte
        if kind == "}":
            return parse_exception("Missing closing '}' in statement block or type definition.",
                                   "MissingEndCurlyBrace", locate(_opening(bad, "{", source)))
        if kind == ")":
            return parse_exception("Missing closing ')' in expression.", "MissingEndParenthesisInExpression",
                                   locate(_opening(bad, "(", source)))
        if kind in ('"', "'"):
            return parse_exception(f"The string is missing the terminator: {kind}.",
                                   "TerminatorExpectedAtEndOfString", locate(at))
        return parse_exception(f"Missing expression after '{_before(source, at)}'.", "ExpectedExpression",
                               locate(at))
    text = _t(source, bad)
    stripped = text.lstrip()
    at = bad.start_byte + (len(text.encode()) - len(stripped.encode()))
    for quote in ('"', "'"):
        if stripped.startswith(quote) and stripped.count(quote) % 2 == 1:
            return parse_exception(f"The string is missing the terminator: {quote}.",
                                   "TerminatorExpectedAtEndOfString", locate(at))
    opened = _unclosed(source)
    if opened is not None:
        brace, where = opened
        if brace == "{":
            return parse_exception("Missing closing '}' in statement block or type definition.",
                                   "MissingEndCurlyBrace", locate(where))
        if brace == "(":
            return parse_exception("Missing closing ')' in expression.", "MissingEndParenthesisInExpression",
                                   locate(where))
    token = (stripped.split() or [stripped])[0][:40] if stripped else ""
    if not token:
        token = "<newline>"
    return parse_exception(f"Unexpected token '{token}' in expression or statement.", "UnexpectedToken",
                           locate(at, len(token)))


def _first_bad(node: tree_sitter.Node) -> tree_sitter.Node | None:
    if node.is_missing or node.type == "ERROR":
        inner = [c for c in node.children if c.has_error or c.is_missing]
        for child in inner:
            if child.is_missing:
                return child
        return node
    for child in node.children:
        if child.has_error or child.is_missing:
            found = _first_bad(child)
            if found is not None:
                return found
    return None


def _opening(missing: tree_sitter.Node, brace: str, source: bytes) -> int:
    parent = missing.parent
    while parent is not None:
        for child in parent.children:
            if child.type in (brace, "@" + brace, "$" + brace):
                return child.start_byte
        parent = parent.parent
    return missing.start_byte


def _unclosed(source: bytes) -> tuple[str, int] | None:
    """The first `{` or `(` never closed, skipping strings and comments (for an ERROR that swallowed it)."""
    text = source.decode("utf-8", "replace")
    stack: list[tuple[str, int]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            i = text.find("\n", i) if text.find("\n", i) >= 0 else n
            continue
        if text.startswith("<#", i):
            end = text.find("#>", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c in "'\"":
            end = text.find(c, i + 1)
            if end < 0:
                return None
            i = end + 1
            continue
        if c in "({":
            stack.append((c, len(text[:i].encode())))
        elif c in ")}":
            if stack and {"(": ")", "{": "}"}[stack[-1][0]] == c:
                stack.pop()
            else:
                return None
        i += 1
    return stack[0] if stack else None


def _unterminated_string(source: bytes) -> tuple[str, int] | None:
    """A quote that never closes (here-strings and comments skipped), and where it opens."""
    text = source.decode("utf-8", "replace")
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("<#", i):
            end = text.find("#>", i + 2)
            i = n if end < 0 else end + 2
            continue
        if text.startswith(('@"', "@'"), i) and text[i + 2:i + 3] in ("\n", "\r"):
            close = "\n" + text[i + 1] + "@"
            end = text.find(close, i + 2)
            if end < 0:
                return text[i + 1] + "@", len(text[:i].encode())
            i = end + 3
            continue
        if c == "`":
            i += 2
            continue
        if c in "'\"":
            j = i + 1
            while j < n:
                if text[j] == c and text[j + 1:j + 2] == c:
                    j += 2
                    continue
                if text[j] == c:
                    break
                if c == '"' and text[j] == "`":
                    j += 1
                j += 1
            if j >= n:
                return c, len(text[:i].encode())
            i = j + 1
            continue
        i += 1
    return None


def _before(source: bytes, at: int) -> str:
    text = source[:at].decode("utf-8", "replace").rstrip()
    return text.split()[-1] if text.split() else ""


def _line_end(source: bytes, at: int) -> int:
    end = source.find(b"\n", at)
    return len(source) if end < 0 else end


def position_at(source: bytes, at: int, width: int = 1) -> Position:
    line_start = source.rfind(b"\n", 0, at) + 1
    line_text = source[line_start:_line_end(source, at)].decode("utf-8", "replace").rstrip("\r")
    line = source.count(b"\n", 0, at) + 1
    column = len(source[line_start:at].decode("utf-8", "replace")) + 1
    return Position(line, column, line_text, width)
