"""The slim image leaves out what `nestlab serve` never imports (container/slim.sh's drop lists).

A host is served in a fresh process with `-X importtime` and driven the ways clients drive a
fleet container: PSRP with Basic and with Negotiate (NTLM, message encryption), a pipeline, a
script through the PowerShell engine, and a WinRS command. Every module the process imported is
read back from importtime's log; none may belong to a package, standard-library module or
extension module that slim.sh drops, or the image would fail where this process did not.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypsrp.client import Client

from nestlab.lab import image

pytestmark = pytest.mark.endpoint
SLIM = image.PROJECT_ROOT / "container" / "slim.sh"
USER, PASSWORD = "nestlab", "Slim-image-pa55"
# loaded by setuptools' distutils-precedence.pth when this interpreter starts, before nestlab runs;
# the image drops that .pth with setuptools, so nothing imports it there
INTERPRETER_START = {"_distutils_hack"}


def drop_list(name: str) -> set[str]:
    """The words of slim.sh's `NAME="…"` line."""
    match = re.search(rf'^{name}="([^"]*)"', SLIM.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{SLIM} has no {name}"
    return set(match.group(1).split())


def imported_top_level(log: str) -> set[str]:
    """Top-level module names from a `-X importtime` log."""
    rows = [line.split("|") for line in log.splitlines() if line.startswith("import time:")]
    return {row[2].strip().split(".")[0] for row in rows if len(row) == 3 and row[1].strip().isdigit()}


@pytest.fixture(scope="module")
def served_imports(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    log = tmp_path_factory.mktemp("slim") / "importtime.txt"
    env = {**os.environ, "NESTLAB_USER": USER, "NESTLAB_PASSWORD": PASSWORD}
    with log.open("w") as err:
        process = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "nestlab", "serve", "builtin:reference", "--port", "0", "--host", "HV01"],
                                   stdout=subprocess.PIPE, stderr=err, env=env, text=True)
        try:
            line = process.stdout.readline()
            assert line.startswith("HV01 http://127.0.0.1:"), log.read_text()
            port = int(line.split()[1].rsplit(":", 1)[1].split("/")[0])
            for auth, encryption in (("basic", "never"), ("negotiate", "auto")):
                with Client("127.0.0.1", port=port, username=USER, password=PASSWORD, ssl=False, auth=auth,
                            encryption=encryption, no_proxy=True) as client:
                    output, _, had_errors = client.execute_ps("Get-VM | Select-Object Name, State; 1..3 | ForEach-Object { $_ * 2 }")
                    assert "L1" in output and not had_errors
                    assert "Windows IP Configuration" in client.execute_cmd("ipconfig")[0]
                    assert client.execute_ps("Get-VMProcessor -VMName * | Format-List")[0]
        finally:
            process.terminate()
            process.wait(timeout=10)
    return imported_top_level(log.read_text())


def test_serve_imports_no_package_the_slim_image_drops(served_imports: set[str]) -> None:
    assert {"nestlab", "cryptography", "spnego", "tree_sitter"} <= served_imports  # the log was read, and the engine ran
    dropped = drop_list("SITE_DROP") | drop_list("STDLIB_DROP") | drop_list("DYNLOAD_DROP")
    assert served_imports & dropped - INTERPRETER_START == set()


def test_the_reader_sees_an_import_in_a_log() -> None:
    log = "import time: self [us] | cumulative | imported package\nimport time:  120 |  300 |   faker.providers\n"
    assert imported_top_level(log) == {"faker"}
    assert "faker" in drop_list("SITE_DROP")
