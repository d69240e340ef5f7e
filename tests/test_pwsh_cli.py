"""`nestlab ps --file`: a script runs locally through the engine, printed as a console prints it."""

from __future__ import annotations

from click.testing import CliRunner

from nestlab.lab.cli import cli


def ps(*args: str):
    return CliRunner().invoke(cli, ["ps", *args])


def test_file_prints_streams_in_order_and_exits_with_the_scripts_code(tmp_path):
    script = tmp_path / "check.ps1"
    script.write_text("param($Name)\nWrite-Host \"checking $Name\"\n(Get-VM -Name $Name).State\n"
                      "Write-Warning 'slow disk'\nexit 4\n", encoding="utf-8")
    out = ps("builtin:reference", "--file", str(script), "--", "L1")
    assert out.exit_code == 4, out.output
    assert out.output.splitlines() == ["checking L1", "Running", "WARNING: slow disk"]


def test_answers_feed_read_host_and_show_as_a_console_would(tmp_path):
    script = tmp_path / "ask.ps1"
    script.write_text("Write-Host 'Proceed? (Y/N)' -NoNewline\n$a = Read-Host\n$b = Read-Host 'Name'\n\"$a $b\"\n",
                      encoding="utf-8")
    out = ps("builtin:reference", "--file", str(script), "--answer", "Y", "--answer", "L1")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == ["Proceed? (Y/N)Y", "Name: L1", "Y L1"]


def test_errors_print_with_the_script_position_on_stderr(tmp_path):
    script = tmp_path / "bad.ps1"
    script.write_text("'ok'\nGet-VM -Name Missing\n", encoding="utf-8")
    out = ps("builtin:reference", "--file", str(script))
    assert out.stdout.strip() == "ok"
    text = out.stderr
    assert out.exit_code == 0  # a non-terminating error: powershell.exe -File exits 0
    assert 'Get-VM : Hyper-V was unable to find a virtual machine with name "Missing".' in text
    assert f"At {script}:2 char:1" in text


def test_a_syntax_error_is_reported_and_nothing_runs(tmp_path):
    script = tmp_path / "broken.ps1"
    script.write_text("Stop-VM -Name L1 -Force\nif ($x {\n", encoding="utf-8")
    out = ps("builtin:reference", "--file", str(script))
    assert out.exit_code == 1
    assert "Missing closing ')' in expression." in out.stderr and "At line:2 char:4" in out.stderr


def test_dot_sourced_helpers_are_read_next_to_the_script(tmp_path):
    (tmp_path / "lib.ps1").write_text("function Get-Greeting { 'hi from lib' }\n", encoding="utf-8")
    script = tmp_path / "main.ps1"
    script.write_text(". .\\lib.ps1\nGet-Greeting\n", encoding="utf-8")
    out = ps("builtin:reference", "--file", str(script))
    assert out.exit_code == 0 and out.output.strip() == "hi from lib"


def test_command_line_runs_through_the_engine_too():
    out = ps("builtin:reference", "$vms = Get-VM; foreach ($v in $vms) { $v.Name }")
    assert out.exit_code == 0 and out.output.strip() == "L1"


def test_missing_file_is_bad_input():
    out = ps("builtin:reference", "--file", "nope.ps1")
    assert out.exit_code == 2 and "nope.ps1: no such script file" in out.output
