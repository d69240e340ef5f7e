"""Ansible for real: ansible-core's `raw` and `script` over its winrm and psrp connections against
`nestlab serve` on loopback, with Basic auth, an inventory written to tmp_path (issue 14, item 4).

`raw` runs over both connections (psrp sends `<cmd>\\nexit $LASTEXITCODE` through the engine);
`script` goes through Ansible's bootstrap, exec and module wrappers and the file upload. A win_*
style module that loads C# must fail with the error of a host that has no compiler.
"""

from __future__ import annotations

import re

import pytest

from helpers_clients import ANSIBLE, PSRP_BASIC, WINRM_BASIC, Ansible, script_module, served_groups, served_subprocess

pytestmark = pytest.mark.endpoint

PASSWORD = "An5ible-pa55"

if not ANSIBLE.exists():
    pytest.skip(f"ansible-core is not installed beside {ANSIBLE.parent} (pip install -e '.[test]')", allow_module_level=True)


@pytest.fixture(scope="module")
def served():
    """`nestlab serve builtin:reference` for HV01 on a free loopback port, account nestlab (Basic here)."""
    with served_subprocess(user="nestlab", password=PASSWORD) as where:
        yield where


@pytest.fixture
def ansible(served, tmp_path):
    return Ansible(tmp_path, served_groups(served, {"HV01-winrm": WINRM_BASIC, "HV01-psrp": PSRP_BASIC}),
                   user="nestlab", password=PASSWORD, library=script_module(tmp_path / "library"))


@pytest.mark.parametrize("host", ["HV01-winrm", "HV01-psrp"])
def test_raw_runs_a_native_program(ansible, host):
    """Over winrm a cmd shell runs it; psrp's `raw` sends `<cmd>\\nexit $LASTEXITCODE`, a multi-line
    script through the engine."""
    result = ansible(host, "raw", "hostname")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{host} | CHANGED | rc=0 >>\nHV01" in result.stdout


def test_raw_over_winrm_runs_hyperv_cmdlets(ansible):
    result = ansible("HV01-winrm", "raw", "Get-VMProcessor -VMName L1 | Select-Object Count")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Count\s*\n-----\n\s*\d+", result.stdout)  # <= 4 properties: a table, as Windows prints it


def test_raw_failure_over_winrm_has_the_exit_code_and_error(ansible):
    result = ansible("HV01-winrm", "raw", "Get-VM -Name nosuch")
    assert result.returncode == 2
    assert "rc=1" in result.stdout
    assert 'Hyper-V was unable to find a virtual machine with name "nosuch".' in result.stdout


@pytest.mark.parametrize("host", ["HV01-winrm", "HV01-psrp"])
def test_add_type_fails_as_on_a_host_without_a_compiler(ansible, host):
    """The error text over both; the rc as each connection computes it on Windows: powershell.exe
    exits 1 after an error (winrm), while psrp's `<cmd>\\nexit $LASTEXITCODE` goes on after the
    statement-terminating Add-Type error and exits with the unset $LASTEXITCODE, 0 (the pipeline
    completes, so Ansible's `host.rc or had_errors` is 0 too)."""
    result = ansible(host, "raw", "Add-Type -TypeDefinition 'public class Probe {}'")
    assert "Compiler executable file csc.exe cannot be found." in result.stdout
    assert "System.InvalidOperationException,Microsoft.PowerShell.Commands.AddTypeCommand" in result.stdout
    if host == "HV01-winrm":
        assert result.returncode == 2 and "rc=1" in result.stdout
    else:
        assert result.returncode == 0 and "rc=0" in result.stdout


def test_raw_failure_over_psrp_has_the_native_exit_code(ansible):
    """The native program's code, through $LASTEXITCODE and SetShouldExit, is Ansible's rc."""
    result = ansible("HV01-psrp", "raw", "netsh nosuchcontext")
    assert result.returncode == 2
    assert "rc=1" in result.stdout and "The following command was not found: nosuchcontext." in result.stdout


@pytest.mark.parametrize("host", ["HV01-winrm", "HV01-psrp"])
def test_script_over_both_connections(ansible, tmp_path, host):
    script = tmp_path / "probe.ps1"
    script.write_text("hostname\n")
    result = ansible(host, "script", str(script))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{host} | CHANGED =>" in result.stdout and '"stdout_lines": [\n        "HV01"\n    ]' in result.stdout


@pytest.mark.parametrize("host", ["HV01-winrm", "HV01-psrp"])
def test_a_csharp_module_fails(ansible, host):
    """win_* modules run in Ansible's exec wrapper and load C# with Add-Type: never a success here."""
    result = ansible(host, "csharp_probe", "")
    assert result.returncode != 0
    assert "SUCCESS" not in result.stdout and "pong" not in result.stdout
    assert "couldn't resolve module" not in result.stdout + result.stderr  # the module was found and sent


@pytest.mark.parametrize("host", ["HV01-winrm", "HV01-psrp"])
def test_a_csharp_module_fails_with_the_compiler_error(ansible, host):
    """The exec wrapper gets as far as Ansible.ModuleUtils.AddType.psm1's CodeDom compile, which on a
    Windows PowerShell 5.1 host without csc.exe throws this, and Ansible reports it as the task's msg."""
    result = ansible(host, "csharp_probe", "")
    assert result.returncode == 2 and f"{host} | FAILED! =>" in result.stdout
    assert ('"msg": "failure during exec_wrapper: Exception calling \\"CompileAssemblyFromSource\\" with \\"2\\" '
            'argument(s): \\"Compiler executable file csc.exe cannot be found.\\""') in result.stdout
