"""The BDD replay against real or served hosts ends with the fidelity report (issue 11 item 6):
empty against `nestlab serve`'s endpoint, non-empty against a served host made to answer otherwise,
and written to a file when asked. Each run is a real pytest in a subprocess (pytester)."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace

import pytest

from nestlab.simulator import labfile
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import LabExecutor, LabServer
from nestlab.simulator.psdata import Command, PSObject, Result

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.endpoint

USER = "nestlab"
FEATURE = """Feature: replay
  Scenario: the reference host is healthy
    Given the lab "builtin:reference"
    When the diagnosis runs
    Then the diagnosis finds nothing
"""
TESTS = 'from pytest_bdd import scenarios\n\nscenarios("replay.feature")\n'


class ExtraSwitchProperty:
    """A served host whose VMSwitch objects carry a property the simulator does not write."""

    def __init__(self, lab) -> None:
        self.inner = LabExecutor(lab)

    def __call__(self, context: str, pipeline: tuple[Command, ...]) -> Result:
        result = self.inner(context, pipeline)
        return replace(result, output=tuple(self._object(o) for o in result.output))

    @staticmethod
    def _object(obj):
        if isinstance(obj, PSObject) and obj.type_names[0] == "Microsoft.HyperV.PowerShell.VMSwitch":
            return PSObject(obj.type_names, [*((k, obj[k]) for k in obj), ("DefaultQueueVmmqEnabled", False)], obj.to_string)
        return obj


def _replay(pytester, monkeypatch, *args, differ=False):
    lab = labfile.load("builtin:reference")
    password = secrets.token_urlsafe(16)
    server = LabServer(lab, Credentials(USER, password), execute=ExtraSwitchProperty(lab) if differ else None).start()
    monkeypatch.setenv("NESTLAB_PASSWORD", password)
    pytester.makefile(".feature", replay=FEATURE)
    pytester.makepyfile(test_replay=TESTS)
    try:
        (served,) = server.servers.values()
        url = f"psrp://{USER}@127.0.0.1:{served.port}?transport=http&auth=basic"
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--lab={url}", *args), password
    finally:
        server.stop()


def test_against_nestlab_serve_the_report_is_empty(pytester, monkeypatch):
    result, password = _replay(pytester, monkeypatch)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*nestlab fidelity: where the simulator would have predicted otherwise*",
                                 "*probe answers compared; the simulator predicts every one of them.*"])
    assert password not in result.stdout.str() + result.stderr.str()


def test_against_a_host_that_answers_otherwise_it_lists_the_differences_and_writes_them(pytester, monkeypatch):
    result, password = _replay(pytester, monkeypatch, "--nestlab-fidelity-report=out/fidelity.json",
                               "--junitxml=out/junit.xml", differ=True)
    result.stdout.fnmatch_lines(["*where the simulator would have predicted otherwise (*",
                                 "*HV01: Get-VMSwitch: property: VMSwitch?External?: the host has DefaultQueueVmmqEnabled; the simulator does not*",
                                 "*fidelity report written to out/fidelity.json*"])
    data = json.loads((pytester.path / "out" / "fidelity.json").read_text())
    assert data["differences"] and all(d["kind"] == "property" for d in data["differences"])
    assert (pytester.path / "out" / "junit.xml").is_file()
    assert password not in result.stdout.str() + (pytester.path / "out" / "fidelity.json").read_text()


def test_the_in_process_simulator_and_no_nestlab_fidelity_print_nothing(pytester, monkeypatch):
    pytester.makefile(".feature", replay=FEATURE)
    pytester.makepyfile(test_replay=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "nestlab fidelity" not in result.stdout.str()
    result, _ = _replay(pytester, monkeypatch, "--no-nestlab-fidelity")
    result.assert_outcomes(passed=1)
    assert "nestlab fidelity" not in result.stdout.str()


def test_endpoint_replay_compares_the_first_lab_it_served_again():
    from nestlab.steps.fidelity_replay import replay_fidelity
    from nestlab.steps.target import EndpointTarget

    target = EndpointTarget()
    assert replay_fidelity(target) is None  # nothing served, nothing to compare
    target.open(labfile.resolve("builtin:reference")).close()
    report = replay_fidelity(target)
    assert report is not None and report.compared > 100 and report.differences == (), report.text()
