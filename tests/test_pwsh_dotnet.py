"""The engine constructs clients' own scripts need (issue 14): pypsrp's copy/fetch scripts and
Ansible's bootstrap, exec and module wrappers. Each test runs a small script through
`pwsh.run_script` against builtin:reference in process and asserts what Windows PowerShell 5.1
gives for it; file tests go through the host's file store (simulator/cmdlets/filestore.py).
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from nestlab.simulator import powershell
from nestlab.simulator.psdata import Command, PSObject
from test_pwsh_language import out, run


# -- the language -----------------------------------------------------------------------------------

def test_top_level_named_blocks_and_input_per_item(lab):
    script = 'param($tag)\nbegin { "begin:$($input.Count)" }\nprocess { "$tag $input $_" }\nend { "end:$(@($input).Count)" }'
    assert out(lab, script, args=["x"], input=["a", "b"]) == ["begin:0", "x a a", "x b b", "end:0"]


def test_named_blocks_on_one_line(lab):
    assert out(lab, "begin { 1 } process { $_ * 2 } end { 9 }", input=[5, 6]) == [1, 10, 12, 9]


def test_input_is_one_enumerator_a_foreach_break_leaves_the_rest(lab):
    script = ('$head = foreach ($in in $input) { if ([string]::Equals($in, "--")) { break }; $in }\n'
              '"head: $head"\n$input | ForEach-Object { "rest $_" }')
    assert out(lab, script, input=["a", "b", "--", "c", "d"]) == ["head: a b", "rest c", "rest d"]


def test_string_equals_is_ordinal(lab):
    assert out(lab, "[string]::Equals('a', 'A'); [string]::Equals('a', 'a'); [string]::Equals($null, $null)") == \
        [False, True, True]


def test_redirecting_an_expression_to_null_discards_its_output(lab):
    assert out(lab, "$a = [System.Collections.ArrayList]@()\n$a.Add(1) > $null\n$a.Add(2)\n'x' 2> $null") == [1, "x"]


def test_using_namespace_names_types_and_generic_arguments(lab):
    script = ("using namespace System.Collections.Generic\nusing namespace System.Text\n"
              "$set = [HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)\n"
              "$set.Add('A'); $set.Add('a'); $set.Contains('A')\n[Encoding]::UTF8.GetString([byte[]](104, 105))")
    assert out(lab, script) == [True, False, True, "hi"]


def test_else_on_the_line_after_an_assigned_if(lab):
    assert out(lab, "$x = if ($false) {\n  1\n}\nelse {\n  2\n}\n$x") == [2]


def test_hash_after_an_escape_in_a_string_is_text(lab):
    assert out(lab, '"a`n# b"; \'c`n# d\'') == ["a\n# b", "c`n# d"]


def test_unbound_arguments_and_session_state_path(lab):
    script = ("$MyInvocation.UnboundArguments[0]\n"
              "$ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath('logs\\a.txt')\n"
              "$ExecutionContext.SessionState.LanguageMode")
    result = out(lab, script, args=["first"])
    assert result[:2] == ["first", "C:\\Users\\Administrator\\Documents\\logs\\a.txt"] and str(result[2]) == "FullLanguage"


def test_error_action_preference_stop_ends_the_script_at_a_failed_method(lab):
    result = run(lab, "$ErrorActionPreference = 'Stop'\n[System.IO.File]::ReadAllBytes('C:\\nope.bin')\n'after'")
    assert result.failed and result.output == ()
    assert result.errors[0].message == ('Exception calling "ReadAllBytes" with "1" argument(s): "Could not find file '
                                        "'C:\\nope.bin'.\"")


def test_output_written_before_a_failing_finally_is_kept(lab):
    result = run(lab, "$ErrorActionPreference = 'Stop'\ntry { 'one' } catch { 'no' } finally { $null.Nope() }")
    assert result.output == ("one",) and result.failed


def test_host_set_should_exit_sets_the_exit_code(lab):
    result = run(lab, "'out'\n$host.SetShouldExit(3)\n'still runs'")
    assert (result.output, result.exit_code, result.exited) == (("out", "still runs"), 3, True)


# -- ConvertFrom-Json ----------------------------------------------------------------------------------

def test_convert_from_json_object_shapes(lab):
    result = out(lab, "$o = '{\"name\": \"x\", \"n\": 5, \"f\": 1.5, \"list\": [1, \"a\"], \"inner\": {\"k\": null}}' | "
                      "ConvertFrom-Json\n$o.GetType().FullName; $o.name; $o.n.GetType().Name; $o.f; $o.list.Count; "
                      "$o.inner.GetType().FullName; $null -eq $o.inner.k; ($o.PSObject.Properties | ForEach-Object Name) -join ','")
    assert result == ["System.Management.Automation.PSCustomObject", "x", "Int32", 1.5, 2,
                      "System.Management.Automation.PSCustomObject", True, "name,n,f,list,inner"]


def test_convert_from_json_writes_a_top_level_array_as_one_object(lab):
    assert out(lab, "('[1, 2, 3]' | ConvertFrom-Json | Measure-Object).Count") == [1]


def test_convert_from_json_joins_lines_that_are_one_document(lab):
    assert out(lab, "('{', '\"a\": 1', '}' | ConvertFrom-Json).a") == [1]


def test_convert_from_json_of_bad_text_is_an_argument_error(lab):
    result = run(lab, "'{nope' | ConvertFrom-Json")
    assert result.errors[0].message.startswith("Invalid JSON primitive: ")
    assert result.errors[0].fully_qualified_error_id == \
        "System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand"


# -- bytes, hashes, encodings --------------------------------------------------------------------------

def test_sha1_transform_blocks_of_known_bytes(lab):
    script = ("$b = [System.Text.Encoding]::UTF8.GetBytes('abc')\n"
              "$algo = [System.Security.Cryptography.SHA1CryptoServiceProvider]::Create()\n"
              "$algo.TransformBlock($b, 0, 2, $b, 0) > $null\n$algo.TransformFinalBlock($b, 2, 1) > $null\n"
              "[System.BitConverter]::ToString($algo.Hash).Replace('-', '').ToLowerInvariant()")
    assert out(lab, script) == [hashlib.sha1(b"abc").hexdigest()]


def test_sha256_compute_hash_and_bit_converter(lab):
    script = "[BitConverter]::ToString([System.Security.Cryptography.SHA256]::Create().ComputeHash([byte[]](1,2,3)))"
    assert out(lab, script) == ["-".join(f"{b:02X}" for b in hashlib.sha256(b"\x01\x02\x03").digest())]


def test_base64_round_trip_and_a_bad_string(lab):
    encoded = base64.b64encode(b"\x00\xffhi").decode()
    assert out(lab, f"[Convert]::ToBase64String([Convert]::FromBase64String('{encoded}'))") == [encoded]
    result = run(lab, "[Convert]::FromBase64String('abc')")
    assert result.errors[0].fully_qualified_error_id == "FormatException"
    assert "The input is not a valid Base-64 string" in result.errors[0].message


def test_flags_enum_cast_and_an_unknown_name(lab):
    assert out(lab, "$f = [System.Reflection.BindingFlags]'NonPublic, Instance'; \"$f\"; $f.value__") == \
        ["NonPublic, Instance", 36]
    result = run(lab, "[System.Reflection.BindingFlags]'Nope'")
    assert 'Unable to match the identifier name Nope to a valid enumerator name.' in result.errors[0].message


# -- files: [System.IO.File], FileStream, FileInfo over the host's file store ---------------------------------

def test_file_stream_write_seek_read(lab):
    script = ("$fs = [System.IO.File]::Create('C:\\Windows\\Temp\\s.bin')\n"
              "$fs.Write([byte[]](1,2,3,4,5), 0, 5)\n$fs.Seek(1, [System.IO.SeekOrigin]::Begin) > $null\n"
              "$buf = New-Object -TypeName byte[] -ArgumentList 3\n$fs.Read($buf, 0, 3)\n$buf -join ','\n"
              "$fs.Position; $fs.Length\n$fs.Close()\n[System.IO.File]::ReadAllBytes('C:\\Windows\\Temp\\s.bin') -join ','")
    assert out(lab, script) == [3, "2,3,4", 4, 5, "1,2,3,4,5"]


def test_a_file_written_by_dotnet_is_seen_by_cmdlets_and_later_runs(lab):
    out(lab, "[System.IO.File]::WriteAllText('C:\\Windows\\Temp\\note.txt', \"one`r`ntwo\")")
    assert out(lab, "Get-Content C:\\Windows\\Temp\\note.txt; Test-Path C:\\windows\\temp\\NOTE.TXT -PathType Leaf; "
                    "(Get-FileHash C:\\Windows\\Temp\\note.txt -Algorithm SHA1).Hash; "
                    "(New-Object System.IO.FileInfo 'C:\\Windows\\Temp\\note.txt').Length") == \
        ["one", "two", True, hashlib.sha1(b"one\r\ntwo").hexdigest().upper(), 8]
    stored = powershell.run(lab, lab.hosts()[0], (Command.of("Get-Item", LiteralPath="C:\\Windows\\Temp\\note.txt"),))
    assert isinstance(stored.output[0], PSObject) and stored.output[0]["FullName"] == "C:\\Windows\\Temp\\note.txt"


def test_file_errors_are_dotnet_exceptions(lab):
    result = run(lab, "[System.IO.File]::WriteAllBytes('C:\\no\\such\\dir\\x.bin', [byte[]](1))")
    assert result.errors[0].message == ('Exception calling "WriteAllBytes" with "2" argument(s): "Could not find a part '
                                        "of the path 'C:\\no\\such\\dir\\x.bin'.\"")
    assert result.errors[0].fully_qualified_error_id == "DirectoryNotFoundException"


def test_temp_file_name_creates_an_empty_file_and_move_replaces_nothing(lab):
    script = ("$t = [System.IO.Path]::GetTempFileName()\n$t -like 'C:\\Windows\\TEMP\\tmp*.tmp'\n"
              "(Get-Item -LiteralPath $t).Length\n[System.IO.File]::Move($t, 'C:\\Windows\\Temp\\moved.tmp')\n"
              "Test-Path -LiteralPath $t; Test-Path 'C:\\Windows\\Temp\\moved.tmp'")
    assert out(lab, script) == [True, 0, False, True]


def test_new_item_directory_then_a_script_file_runs_from_the_store(lab):
    script = ("$d = New-Item -Path C:\\Windows\\Temp -Name work -ItemType Directory\n$d.FullName\n"
              "Set-Content -LiteralPath C:\\Windows\\Temp\\work\\s.ps1 -Value 'param($n) \"hello $n\"'\n"
              "& 'C:\\Windows\\Temp\\work\\s.ps1' there")
    assert out(lab, script) == ["C:\\Windows\\Temp\\work", "hello there"]


def test_remove_item_of_a_stored_file_and_of_a_missing_one(lab):
    result = run(lab, "Set-Content C:\\Windows\\Temp\\gone.txt x\nRemove-Item C:\\Windows\\Temp\\gone.txt\n"
                      "Test-Path C:\\Windows\\Temp\\gone.txt\nRemove-Item C:\\Windows\\Temp\\gone.txt")
    assert result.output == (False,)
    assert result.errors[0].message == "Cannot find path 'C:\\Windows\\Temp\\gone.txt' because it does not exist."


# -- script blocks: the parser, steppable pipelines, nested runspaces -------------------------------------

def test_parse_input_get_script_block_runs_the_text(lab):
    script = ("$errors = $null\n$sb = [System.Management.Automation.Language.Parser]::ParseInput('param($a) $a * 2', "
              "'x.ps1', [ref]$null, [ref]$errors).GetScriptBlock()\n& $sb 21")
    assert out(lab, script) == [42]


def test_steppable_pipeline_feeds_process_input_to_its_first_command(lab):
    script = ("$p = { ConvertFrom-Json | ForEach-Object { $_.v } }.GetSteppablePipeline()\n$p.Begin($true)\n"
              "$p.Process('{\"v\": 1}')\n$p.Process('{\"v\": 2}')\n$p.End()\n$p.Dispose()")
    assert out(lab, script) == [1, 2]


def test_nested_powershell_invoke_and_its_exit_code(lab):
    script = ("$ps = [PowerShell]::Create()\n$null = $ps.AddScript('param($x) \"got $x\"; exit 4').AddParameter('x', 'y')"
              ".AddStatement()\n$ps.Invoke()\n$ps.Runspace.SessionStateProxy.GetVariable('LASTEXITCODE')")
    assert out(lab, script) == ["got y", 4]


def test_reflection_finds_no_member_a_simulated_type_does_not_model(lab):
    result = run(lab, "$null -eq $Host.GetType().GetProperty('ExternalHost', [System.Reflection.BindingFlags]'NonPublic, Instance')")
    assert result.output == (True,)


@pytest.mark.parametrize("text", ["[System.IO.File]::Nope()", "$fs = [System.IO.File]::Create('C:\\Windows\\Temp\\n'); $fs.Nope()"])
def test_a_member_the_type_lacks_is_method_not_found(lab, text):
    result = run(lab, text)
    assert result.errors[-1].fully_qualified_error_id == "MethodNotFound"
