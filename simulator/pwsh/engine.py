"""Interim engine: one pipeline line through `simulator.psparse` (replaced by the tree-sitter
engine of issue 12). A script it cannot read whole is a ParseException, never half-run."""

from __future__ import annotations

from typing import Any, Sequence

from nestlab.simulator import psparse
from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import ErrorRecord
from nestlab.simulator.pwsh import Executor, HostUI, ScriptResult


def run(execute: Executor, context: str, text: str, *, args: Sequence[Any] = (), host: HostUI | None = None) -> ScriptResult:
    if "\n" in text.strip():
        return _parse_failure("this engine reads one pipeline line; the script has several lines")
    try:
        pipeline = psparse.parse(text)
    except BadInput as exc:
        return _parse_failure(str(exc))
    result = execute(context, pipeline)
    return ScriptResult(output=result.output, errors=result.errors, failed=result.failed)


def _parse_failure(detail: str) -> ScriptResult:
    error = ErrorRecord(
        message=f"The script could not be parsed: {detail}",
        fully_qualified_error_id="ParseException",
        category="ParserError",
        reason="ParseException",
        exception_type="System.Management.Automation.ParseException",
    )
    return ScriptResult(errors=(error,), failed=True)
