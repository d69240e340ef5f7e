"""Unsupported or wrong PowerShell is PowerShell's own error, with its position, never a misparse."""

from __future__ import annotations

import pytest

from nestlab.simulator import powershell
from nestlab.simulator.pwsh import run_script


def run(lab, text: str):
    return run_script(lambda context, pipeline: powershell.run(lab, context, pipeline), lab.hosts()[0], text)


@pytest.mark.parametrize("script, fqid, where, message", [
    ('Write-Host "unterminated', "TerminatorExpectedAtEndOfString", "At line:1 char:12",
     'The string is missing the terminator: ".'),
    ("Get-VM\nif ($x) {\n  'a'\n", "MissingEndCurlyBrace", "At line:2 char:9",
     "Missing closing '}' in statement block or type definition."),
    ("$a = (1 + 2", "MissingEndParenthesisInExpression", "At line:1 char:6", "Missing closing ')' in expression."),
    ("Get-VM\n  foo )", "UnexpectedToken", "At line:2 char:7", "Unexpected token ')' in expression or statement."),
])
def test_syntax_error_is_a_parse_exception_with_line_and_column(lab, script, fqid, where, message):
    result = run(lab, script)
    assert result.failed and result.output == () and len(result.errors) == 1
    error = result.errors[0]
    assert error.fully_qualified_error_id == fqid
    assert error.exception_type == "System.Management.Automation.ParseException"
    assert error.category == "ParserError"
    assert error.message.startswith(where + "\n+ ")
    assert error.message.endswith("\n" + message)


def test_nothing_runs_when_any_line_does_not_parse(lab):
    result = run(lab, "Stop-VM -Name L1 -Force\n$x = (")
    assert result.failed
    assert lab[lab.vms(lab.hosts()[0])[0]].state == "Running"


def test_unknown_command_is_command_not_found_with_position(lab):
    result = run(lab, "'first'\n  Get-Nonsense -Name x\n'after'")
    assert result.output == ("first", "after")
    error = result.errors[0]
    assert error.fully_qualified_error_id == "CommandNotFoundException" and error.category == "ObjectNotFound"
    assert error.message.startswith("The term 'Get-Nonsense' is not recognized as the name of a cmdlet")
    assert result.positions[0].startswith("At line:2 char:3\n+   Get-Nonsense -Name x")


def test_unknown_command_in_a_pipeline_runs_none_of_it(lab):
    result = run(lab, "Stop-VM -Name L1 -Force | Get-Nonsense")
    assert result.errors[0].fully_qualified_error_id == "CommandNotFoundException"
    assert lab[lab.vms(lab.hosts()[0])[0]].state == "Running"


def test_method_not_found_and_null_method(lab):
    result = run(lab, "'abc'.Frobnicate()\n$null.ToString()\n$nothing[0]")
    assert [e.fully_qualified_error_id for e in result.errors] == ["MethodNotFound", "InvokeMethodOnNull", "NullArray"]
    assert result.errors[0].message == "Method invocation failed because [System.String] does not contain a method named 'Frobnicate'."
    assert result.errors[1].message == "You cannot call a method on a null-valued expression."


def test_unknown_parameter_of_a_simulated_cmdlet(lab):
    result = run(lab, "Get-VM -Nmae L1")
    assert result.errors[0].fully_qualified_error_id.startswith("NamedParameterNotFound,")


def test_unsupported_construct_is_an_error_not_a_silent_skip(lab):
    result = run(lab, "class Foo { [int]$x }\n'after'")
    assert result.errors and "does not support" in result.errors[0].message
    assert result.positions[0].startswith("At line:1 char:1")


def test_redirect_to_a_file_is_refused(lab):
    result = run(lab, "Get-VM > C:\\out.txt")
    assert result.errors and "file system" in result.errors[0].message


def test_unknown_type_is_type_not_found(lab):
    result = run(lab, "[Nope.Type]::Thing()")
    assert result.errors[0].message == "Unable to find type [Nope.Type]."
