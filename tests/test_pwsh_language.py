"""The PowerShell engine evaluates the language diagnostics are written in (issue 12, item 1).

Each test runs a small script through `pwsh.run_script` against builtin:reference in process and
asserts what Windows PowerShell 5.1 gives for it.
"""

from __future__ import annotations

import pytest

from nestlab.simulator import faults, powershell
from nestlab.simulator.psdata import Command, PSObject
from nestlab.simulator.pwsh import ScriptResult, run_script


def run(lab, text: str, **kw) -> ScriptResult:
    return run_script(lambda context, pipeline: powershell.run(lab, context, pipeline), lab.hosts()[0], text, **kw)


def out(lab, text: str, **kw) -> list:
    result = run(lab, text, **kw)
    assert not result.errors, [e.message for e in result.errors]
    return list(result.output)


def test_statements_newlines_semicolons_and_comments(lab):
    assert out(lab, "1; 2\n3 # one\n<# a\nblock #> 4") == [1, 2, 3, 4]


def test_newline_separates_commands_never_one_call_with_an_argument(lab):
    result = run(lab, "Get-VM\nGet-VMSwitch")
    types = [o.type_names[0] for o in result.output]
    assert types == ["Microsoft.HyperV.PowerShell.VirtualMachine", "Microsoft.HyperV.PowerShell.VMSwitch"]


def test_foreach_over_cmdlet_output_and_parenthesised_member(lab):
    assert out(lab, "$vms = Get-VM; foreach ($v in $vms) { $v.Name }") == ["L1"]
    assert out(lab, "(Get-VMProcessor -VMName L1).ExposeVirtualizationExtensions") == [True]


def test_where_object_script_block_and_simplified_syntax(lab):
    assert out(lab, "Get-VM | Where-Object { $_.State -eq 'Running' } | ForEach-Object { $_.Name }") == ["L1"]
    assert out(lab, "Get-VM | where State -eq Off | % Name") == []
    assert out(lab, "Get-VM | ? Name -like 'l*' | % Name") == ["L1"]


def test_script_values_piped_into_simulated_cmdlets(lab):
    got = out(lab, "$vm = Get-VM -Name L1\n$vm | Get-VMProcessor | % ExposeVirtualizationExtensions\n"
                   "(Get-VMMemory -VM $vm).DynamicMemoryEnabled")
    assert got == [True, False]


def test_variables_scopes_and_compound_assignment(lab):
    script = "$x = 1\nfunction f { $x = 5; $script:y = 7; $x }\nf\n$x\n$y\n$x += 2; $x\n$s = 'a'; $s += 'b'; $s"
    assert out(lab, script) == [5, 1, 7, 3, "ab"]


def test_arrays_hashtables_and_indexing(lab):
    script = ("$a = @(1, 2) + 3; $a += 4; $a.Count; $a[-1]; $a[1..2]\n"
              "$h = @{ Name = 'L1'; 'Two Words' = 2 }; $h.name; $h['TWO WORDS']; $h.Count\n"
              "$h.New = 'x'; $h.Keys.Count\n@().Count; @(Get-VM).Count")
    assert out(lab, script) == [4, 4, 2, 3, "L1", 2, 2, 3, 0, 1]


def test_string_expansion_subexpressions_and_here_strings(lab):
    script = ('$n = "L1"; $h = @{ a = 2 }\n"vm $n has $($h.a + 1) cpus, ${n}!"\n\'no $n\'\n'
              '@"\nHere $n\n  "quoted"\n"@\n@\'\nRaw $n\n\'@\n"a`tb"')
    assert out(lab, script) == ["vm L1 has 3 cpus, L1!", "no $n", 'Here L1\n  "quoted"', "Raw $n", "a\tb"]


@pytest.mark.parametrize("expression, expected", [
    ("'abc' -eq 'ABC'", True), ("'abc' -ceq 'ABC'", False), ("5 -ne 4", True), ("10 -gt 9", True),
    ("'10' -gt 9", False), ("2 -lt 1", False), ("3 -ge 3", True), ("3 -le 2", False),
    ("'Hyper-V' -like 'hyper*'", True), ("'abc' -notlike 'a*'", False), ("'OFFERNESTEDVIRT=FALSE' -match 'nestedvirt'", True),
    ("'abc' -notmatch 'z'", True), ("@(1,2,3) -contains 2", True), ("2 -in @(1,2)", True), ("5 -notin 1,2", True),
    ("$true -and $false", False), ("$false -or 1", True), ("-not $null", True), ("!''", True),
    ("$null -eq $null", True), ("@(1,2,3) -gt 1", [2, 3]), ("'a,b' -split ','", ["a", "b"]),
    ("'a-b' -replace '-', '+'", "a+b"), ("'{0}:{1,3}' -f 'x', 7", "x:  7"), ("(1,2,3) -join '/'", "1/2/3"),
    ("[int]'42' + 1", 43), ("'4' + 2", "42"), ("4 + '2'", 6), ("7 / 2", 3.5), ("8 / 2", 4), ("4GB", 4 * 2**30),
    ("'Running' -eq (Get-VM).State", True), ("(Get-VM).State -eq 2", True), ("'x' -is [string]", True),
])
def test_operators(lab, expression, expected):
    assert out(lab, f"$r = {expression}\n$r")[0 if not isinstance(expected, list) else slice(None)] == expected


def test_if_elseif_else(lab):
    script = "foreach ($x in 1, 8, 20) { if ($x -gt 10) { 'big' } elseif ($x -eq 8) { 'eight' } else { 'small' } }"
    assert out(lab, script) == ["small", "eight", "big"]


def test_loops_for_while_do_until_break_continue(lab):
    script = ("for ($i = 0; $i -lt 5; $i++) { if ($i -eq 1) { continue }; if ($i -eq 3) { break }; \"i$i\" }\n"
              "$n = 0; while ($n -lt 3) { $n++ }; $n\n"
              "do { $n-- } until ($n -le 0); $n\n$m = 0; do { $m++ } while ($m -lt 2); $m")
    assert out(lab, script) == ["i0", "i2", 3, 0, 2]


def test_switch_with_default_wildcard_and_regex(lab):
    script = ("switch ('b') { 'a' { 'A' } 'b' { 'B' } default { 'D' } }\n"
              "switch -Wildcard ('Hyper-V') { 'hyper*' { 'hv' } }\n"
              "switch -Regex ('build 17763') { '(\\d+)' { $Matches[1] } }\n"
              "switch (1, 5) {\n 1 { 'one' }\n default { 'other' }\n}")
    assert out(lab, script) == ["B", "hv", "17763", "one", "other"]


def test_try_catch_finally_and_throw(lab):
    script = ("try { 'before'; throw 'boom'; 'never' } catch { \"caught: $($_.Exception.Message)\" } finally { 'fin' }\n"
              "try { Get-VM -Name Nope -ErrorAction Stop } catch [Microsoft.HyperV.PowerShell.VirtualizationException] "
              "{ $_.FullyQualifiedErrorId }")
    assert out(lab, script) == ["before", "caught: boom", "fin",
                                "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM"]


def test_uncaught_throw_stops_the_script_and_fails(lab):
    result = run(lab, "'one'\nthrow 'stopped here'\n'two'")
    assert result.output == ("one",) and result.failed
    assert result.errors[0].message == "stopped here"
    assert result.positions[0].startswith("At line:2 char:1")


def test_functions_with_param_attributes_and_begin_process_end(lab):
    script = ("function Add-Tag {\n  [CmdletBinding()]\n  param([Parameter(Mandatory=$true)][string]$Tag,\n"
              "        [Parameter(ValueFromPipeline=$true)]$Item, [switch]$Upper)\n"
              "  begin { $n = 0 }\n  process { $n++; $t = \"$Item-$Tag\"; if ($Upper) { $t.ToUpper() } else { $t } }\n"
              "  end { \"count=$n\" }\n}\n'a', 'b' | Add-Tag -Tag x -Upper\nAdd-Tag -Tag y -Item z")
    assert out(lab, script) == ["A-X", "B-X", "count=2", "z-y", "count=1"]


def test_missing_mandatory_parameter_is_the_binding_error(lab):
    result = run(lab, "function f { param([Parameter(Mandatory)]$Name) $Name }\nf")
    assert result.errors[0].fully_qualified_error_id == "MissingMandatoryParameter,f"


def test_script_param_block_and_args(lab):
    assert out(lab, "param([string]$VMName, [int]$Count = 2)\n\"$VMName x $Count\"", args=("L1",)) == ["L1 x 2"]
    assert out(lab, "param($VMName)\n$VMName", args=("-VMName", "L9")) == ["L9"]
    assert out(lab, "\"$($args.Count): $($args[1])\"", args=("a", "b")) == ["2: b"]


def test_script_blocks_in_sort_select_measure_foreach(lab):
    script = ("$items = @(@{n='b'; v=2}, @{n='a'; v=3}, @{n='c'; v=1}) | % { [pscustomobject]$_ }\n"
              "$items | Sort-Object -Property v | % n\n"
              "$items | Sort-Object n -Descending | Select-Object -First 1 -ExpandProperty n\n"
              "($items | Measure-Object -Property v -Sum).Sum\n"
              "$items | Select-Object n, @{Name='Double'; Expression={ $_.v * 2 }} | Sort-Object Double | % { \"$($_.n)=$($_.Double)\" }\n"
              "($items | Where-Object { $_.v -gt 1 }).Count")
    assert out(lab, script) == ["c", "b", "a", "c", 6, "c=2", "b=4", "a=6", 2]


def test_calculated_property_objects_are_selected_custom_objects(lab):
    first = out(lab, "Get-VM | Select-Object Name, @{n='Up'; e={ $_.State -eq 'Running' }}")[0]
    assert isinstance(first, PSObject) and list(first) == ["Name", "Up"] and first["Up"] is True
    assert first.type_names[0] == "Selected.Microsoft.HyperV.PowerShell.VirtualMachine"


def test_error_action_dollar_question_and_error_variable(lab):
    result = run(lab, "Get-VM -Name Nope -ErrorAction SilentlyContinue\n\"ok=$?\"\n$Error.Count\n"
                      "Get-VM -Name Nope2\n\"ok=$?\"\nGet-VM -Name L1 | Out-Null\n\"ok=$?\"")
    assert list(result.output) == ["ok=False", 1, "ok=False", "ok=True"]
    assert [e.target_name for e in result.errors] == ["Nope2"]


def test_exit_code_and_lastexitcode(lab):
    result = run(lab, "'a'\nexit 3\n'b'")
    assert result.output == ("a",) and result.exit_code == 3 and not result.failed
    assert run(lab, "bcdedit /enum | Out-Null\n$LASTEXITCODE").output == (0,)


def test_dot_sourcing_a_function_and_a_file(lab):
    files = {"helpers.ps1": "function Get-Answer { 42 }\n$shared = 'dot'"}
    got = out(lab, ". .\\helpers.ps1\nGet-Answer\n$shared\n. { $inner = 1 }\n$inner",
              files=lambda path: files.get(path.replace(".\\", "")))
    assert got == [42, "dot", 1]
    assert run(lab, ". .\\missing.ps1").errors[0].fully_qualified_error_id == "CommandNotFoundException"


def test_write_streams_go_to_their_own_streams(lab):
    result = run(lab, "Write-Host 'to host' -NoNewline; Write-Host ' done'\nWrite-Output 'out'\nWrite-Warning 'careful'\n"
                      "Write-Verbose 'quiet'\nWrite-Verbose 'loud' -Verbose\nWrite-Debug 'dbg'\nWrite-Error 'bad'\n'after'")
    assert result.output == ("out", "after")
    assert result.information == ("to host done",)
    assert result.warnings == ("careful",) and result.verbose == ("loud",) and result.debug == ()
    assert [e.message for e in result.errors] == ["bad"]
    assert result.errors[0].fully_qualified_error_id == "Microsoft.PowerShell.Commands.WriteErrorException"


def test_new_object_add_member_and_property_assignment(lab):
    script = ("$o = New-Object PSObject\nAdd-Member -InputObject $o NoteProperty -Name 'Computer' -Value $env:COMPUTERNAME\n"
              "$o | Add-Member -NotePropertyName Ok -NotePropertyValue $false\n$o.Ok = $true\n$o.Computer; $o.Ok")
    assert out(lab, script) == ["HV01", True]
    result = run(lab, "$o = New-Object PSObject\n$o.Missing = 1")
    assert result.errors[0].fully_qualified_error_id == "PropertyNotFound"


def test_select_string_over_native_output(lab):
    got = out(lab, "$hit = bcdedit /enum | Select-String 'hypervisorlaunchtype'\n$hit.Line -match 'Auto'\n"
                   "[bool](bcdedit /enum | Select-String 'hypervisorloadoptions')")
    assert got == [True, False]


def test_convert_to_json_is_windows_powershell_layout(lab):
    assert out(lab, "@{ Name = 'L1'; Cpu = 2 } | ConvertTo-Json") == ['{\n    "Name":  "L1",\n    "Cpu":  2\n}']
    assert out(lab, "[pscustomobject]@{ a = 1 } | ConvertTo-Json -Compress") == ['{"a":1}']


def test_get_command_finds_simulated_and_engine_cmdlets_only(lab):
    got = out(lab, "(Get-Command Get-VM).Source\n[bool](Get-Command Where-Object)\n"
                   "[bool](Get-Command Confirm-SecureBootUEFI -ErrorAction SilentlyContinue)")
    assert got == ["Hyper-V", True, False]


def test_start_sleep_advances_a_simulated_clock(lab):
    got = out(lab, "$t0 = Get-Date\n$i = 0\nwhile ($i -lt 600) { Start-Sleep -Seconds 1; $i++ }\n((Get-Date) - $t0).TotalSeconds")
    assert got == [600.0]


def test_automatic_variables_and_dotnet_members(lab):
    script = ("$PSVersionTable.PSVersion.Major; $PSVersionTable.PSEdition\n$env:COMPUTERNAME\n"
              "[string]::IsNullOrEmpty(''); [string]::IsNullOrEmpty('x')\n"
              "$p = New-Object System.Security.Principal.WindowsPrincipal([System.Security.Principal.WindowsIdentity]::GetCurrent())\n"
              "$p.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)\n"
              "$Host.Name\n$Host.UI.RawUI.WindowTitle = 'x'\n'abc'.ToUpper().Substring(1)\n'a.b'.Split('.')[1]")
    assert out(lab, script) == [5, "Desktop", "HV01", True, False, True, "ServerRemoteHost", "BC", "b"]


def test_registry_and_cim_through_the_simulated_cmdlets(lab):
    got = out(lab, "(Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion').CurrentBuild\n"
                   "(Get-CimInstance -ClassName Win32_ComputerSystem).HypervisorPresent\n"
                   "(Get-WmiObject Win32_Processor).Manufacturer")
    build = str(lab.platform(lab.hosts()[0]).os.build)
    assert got == [build, True, "GenuineIntel"]


def test_read_key_is_not_implemented_as_on_a_remote_host(lab):
    result = run(lab, "$null = $Host.UI.RawUI.ReadKey('NoEcho,IncludeKeyDown')\n'after'")
    assert result.output == ("after",)
    assert result.errors[0].message.endswith('"The method or operation is not implemented."')


def test_read_host_uses_the_host_or_fails_non_interactive(lab):
    class Answers:
        def read_line(self, prompt):
            return "Y"

        def write(self, text):
            pass

    assert out(lab, "$a = Read-Host 'Continue?'\n$a", host=Answers()) == ["Y"]
    result = run(lab, "Read-Host")
    assert "NonInteractive mode" in result.errors[0].message


def test_invoke_command_runs_the_block_in_the_guest(lab):
    got = out(lab, "Invoke-Command -VMName L1 -ScriptBlock { (Get-CimInstance Win32_ComputerSystem).Model; $env:COMPUTERNAME }")
    assert got == ["Virtual Machine", "L1"]


def test_script_changes_reach_the_lab_through_cmdlets(lab):
    faults.get("extensions-not-exposed").inject(lab)
    run(lab, "$vm = Get-VM L1\nif (-not (Get-VMProcessor -VM $vm).ExposeVirtualizationExtensions) {\n"
             "  Stop-VM -VM $vm -Force\n  Set-VMProcessor -VMName L1 -ExposeVirtualizationExtensions $true\n}")
    check = powershell.run(lab, lab.hosts()[0], (Command("Get-VMProcessor", (("VMName", "L1"),)),))
    assert check.output[0]["ExposeVirtualizationExtensions"] is True


def test_collections_scripts_use(lab):
    script = ("$list = New-Object System.Collections.ArrayList\n[void]$list.Add('a'); $i = $list.Add('b'); $i; $list.Count\n"
              "$g = [System.Collections.Generic.List[string]]::new(); $g.Add('x'); $g.Count\n"
              "$h = @{ b = 2; a = 1 }\n$h.GetEnumerator() | Sort-Object Name | ForEach-Object { \"$($_.Key)=$($_.Value)\" }\n"
              "@(Get-VM).Where({ $_.State -eq 'Running' }).Count\n(1, 2, 3).ForEach({ $_ * 10 })")
    assert out(lab, script) == [1, 2, 1, "a=1", "b=2", 1, 10, 20, 30]


def test_error_action_preference_stop_makes_errors_catchable(lab):
    script = ("$ErrorActionPreference = 'Stop'\ntry { Get-VM -Name nope; 'not here' } catch { \"caught $($_.CategoryInfo.Category)\" }")
    assert out(lab, script) == ["caught InvalidArgument"]


def test_return_keeps_what_the_function_wrote_before(lab):
    assert out(lab, "function f { 'one'; if ($true) { 'two'; return 'three' }; 'never' }\nf") == ["one", "two", "three"]


def test_format_cmdlets_and_out_string_use_the_console_views(lab):
    table = out(lab, "Get-VM | Format-Table Name, State | Out-String")[0]
    assert table.splitlines()[1:4] == ["Name State", "---- -----", "L1   Running"]
    listing = out(lab, "Get-VMProcessor -VMName L1 | Format-List VMName, Count | Out-String -Stream")
    assert [line for line in listing if line] == ["VMName : L1", f"Count  : {lab[lab.vms('HV01')[0]].processor.count}"]


def test_multiple_assignment_and_element_assignment(lab):
    assert out(lab, "$a, $b = 1, 2, 3\n$a\n$b.Count\n$x = @(1, 2); $x[1] = 9; $x -join ','\n"
                    "$h = @{}; $h['k'] = 'v'; $h.k") == [1, 2, "1,9", "v"]
    assert run(lab, "$x = @(1); $x[5] = 2").errors[0].fully_qualified_error_id == "IndexOutOfRange"


def test_command_arguments_the_grammar_needs_help_with(lab):
    script = ('$s = "a.b"\nWrite-Output $s.ToUpper().Length\nWrite-Output -InputObject $s.Split(".")\n'
              'Write-Output $env:SystemRoot\\System32\nif ($true) {\n    \n  "after a blank line of spaces"\n}')
    assert out(lab, script) == [3, "a", "b", "C:\\Windows\\System32", "after a blank line of spaces"]


def test_a_wait_that_can_never_end_is_stopped_with_an_error(lab):
    result = run(lab, "while ((Get-VM -Name L1).State -ne 'Off') { Start-Sleep -Seconds 5 }\n'after'")
    assert result.output == ("after",) and result.errors[0].fully_qualified_error_id == "LoopLimit"


def test_dollar_question_is_per_statement(lab):
    result = run(lab, "Write-Error 'x'\n$?\n'a' | Out-Null\n$?\nWrite-Output $?")
    assert list(result.output) == [False, True, True]


def test_common_parameters_of_advanced_functions_and_scripts(lab):
    script = ("function f { [CmdletBinding()] param($a) Write-Verbose \"v $a\"; Get-VM -Name nope; 'after' }\n"
              "f -a 1\nf -a 2 -Verbose\ntry { f -a 3 -ErrorAction Stop } catch { 'stopped' }\n"
              "function g { param($a) $a }\ng -a 1 -Verbose")
    result = run(lab, script)
    assert list(result.output) == ["after", "after", "stopped"]
    assert result.verbose == ("v 2",)
    assert result.errors[-1].fully_qualified_error_id == "NamedParameterNotFound,g"
