"""`nestlab collect`: the guide's bundle from a target, and the round trip collect → import."""

from __future__ import annotations

import json
import zipfile
from dataclasses import fields, replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nestlab.lab.bundle import collect
from nestlab.lab.cli import cli
from nestlab.lab.importer import import_bundle
from nestlab.lab.psrp_session import HostUnreachable
from nestlab.lab.session import SimSession
from nestlab.simulator.model import OSInfo
from nestlab.simulator import labfile
from nestlab.simulator.model import Lab
from helpers_sessions import recording, stops_answering

REFERENCE_GUIDE_FILES = (  # the guide's commands for L1 on HV01, one file each
    "HV01/get-vm-L1.txt", "HV01/get-vmprocessor-L1.txt", "HV01/get-vmmemory-L1.txt",
    "HV01/get-vmnetworkadapter-L1.txt", "HV01/get-vmswitch.txt", "HV01/get-netnat.txt", "HV01/get-netnatstaticmapping.txt",
    "HV01/netsh-portproxy-show-all.txt", "HV01/win32-deviceguard.txt", "HV01/deviceguard-registry.txt",
    "HV01/bcdedit-enum-current.txt", "HV01/systeminfo.txt",
    "HV01/eventlog-hyper-v-vmms-admin.txt", "HV01/eventlog-hyper-v-worker-admin.txt",
    "HV01/get-vhd-01-L1_8F2A.avhdx.txt", "HV01/get-vhd-02-L1.vhdx.txt",
)


@pytest.fixture(scope="module")
def reference_bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("collect") / "reference"
    collect(SimSession(labfile.load("builtin:reference")), out, target="builtin:reference", lab_name="reference")
    return out


def test_bundle_has_one_file_per_guide_command_for_host_and_guests(reference_bundle):
    for name in REFERENCE_GUIDE_FILES:
        assert (reference_bundle / name).is_file(), name
    # through PowerShell Direct: L1's guest and, below it, the Running L2 guests
    assert (reference_bundle / "HV01/L1/get-vm-L2-web.txt").is_file()
    assert (reference_bundle / "HV01/L1/L2-web/systeminfo.txt").is_file()


def test_files_are_printed_as_powershell_prints_them(reference_bundle):
    processor = (reference_bundle / "HV01/get-vmprocessor-L1.txt").read_text().splitlines()
    records = [l for l in processor if " : " in l]
    assert {l.index(" : ") for l in records} == {len("CompatibilityForOlderOperatingSystemsEnabled")}  # padded labels
    assert "ExposeVirtualizationExtensions               : True" in processor
    assert max(len(l) for l in processor) <= 120  # hard-wrapped at the console width
    memory = (reference_bundle / "HV01/get-vmmemory-L1.txt").read_text().splitlines()
    assert memory[1:4] == ["VMName DynamicMemoryEnabled Minimum(M) Startup(M) Maximum(M)",
                           "------ -------------------- ---------- ---------- ----------",
                           "L1     False                512        16384      1048576"]
    portproxy = (reference_bundle / "HV01/L1/netsh-portproxy-show-all.txt").read_text()
    assert "10.20.0.50      8080        192.168.200.10  80" in portproxy
    missing_policy = (reference_bundle / "HV01/deviceguard-policy-registry.txt").read_text()
    assert missing_policy.startswith("Get-ItemProperty : Cannot find path")
    assert "+ FullyQualifiedErrorId : PathNotFound,Microsoft.PowerShell.Commands.GetItemPropertyCommand" in missing_policy


def test_manifest_says_what_ran_where_when_and_how(reference_bundle):
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    entries = manifest["entries"]
    by_file = {e["file"]: e for e in entries if e["file"]}
    vm = by_file["HV01/get-vm-L1.txt"]
    assert (vm["command"], vm["host"], vm["vm"], vm["status"]) == ("Get-VM -Name L1 | Format-List *", "HV01", [], "ok")
    assert vm["started"].endswith("Z") and vm["finished"] >= vm["started"]
    guest = by_file["HV01/L1/L2-web/systeminfo.txt"]
    assert guest["vm"] == ["L1", "L2-web"]
    assert by_file["HV01/deviceguard-policy-registry.txt"]["status"] == "error"
    traces = [e for e in entries if e["command"].startswith("netsh trace start")]
    assert [t["command"].split()[4] for t in traces] == ["scenario=Virtualization,NetConnection", "scenario=NetConnection"]
    assert all(e["status"] == "not-run" and e["file"] is None and e["host"] == "HV01" for e in traces)
    assert manifest["failures"] == []


def test_zip_bundle_is_the_same_bundle(tmp_path):
    out = tmp_path / "b.zip"
    collect(SimSession(labfile.load("builtin:azure")), out)
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
    assert "manifest.json" in names and "AZ-NESTED01/get-vm-web01.txt" in names
    assert not list(tmp_path.glob(".b.zip*"))  # no temp file left


def test_partial_bundle_lists_what_could_not_run(tmp_path):
    out = tmp_path / "partial"
    result = collect(stops_answering(labfile.load("builtin:reference"), after=40), out)
    manifest = json.loads((out / "manifest.json").read_text())
    done = [e for e in manifest["entries"] if e["status"] == "ok"]
    lost = [e for e in manifest["entries"] if e["status"] == "unreachable"]
    assert len(done) >= 30 and lost
    assert all(e["file"] is None and "HV01 stopped answering" in e["errors"][0] for e in lost)
    assert list(result.down) == ["HV01"] and manifest["failures"][0].startswith("HV01: stopped answering")
    assert (out / "HV01/systeminfo.txt").is_file()  # what answered is kept


def test_trace_runs_only_when_asked(tmp_path):
    quiet = recording(labfile.load("builtin:reference"))
    collect(quiet, tmp_path / "q")
    assert not any(s.startswith("netsh trace") for s in quiet.ran)
    traced = recording(labfile.load("builtin:reference"))
    result = collect(traced, tmp_path / "t", trace=True)
    assert [s for s in traced.ran if s.startswith("netsh trace")] == [
        "netsh trace start capture=yes scenario=Virtualization,NetConnection tracefile=C:\\Windows\\Temp\\nestlab-HV01-1.etl",
        "netsh trace stop",
        "netsh trace start capture=yes scenario=NetConnection level=5 maxsize=1024 tracefile=C:\\Windows\\Temp\\nestlab-HV01-2.etl",
        "netsh trace stop",
    ]
    assert all(e.file for e in result.entries if e.command.startswith("netsh trace"))


# -- round trip ---------------------------------------------------------------------------------

# What a bundle cannot show, so an import takes the format's default (docs/evidence.md, last paragraph):
CANNOT_SHOW = {
    "lab": ("name", "description"),  # the lab's own name and prose
    "Vhd": ("parent_disk_id",),  # only a mismatch shows (Test-VHD), not the value
}


def _differences(original: Lab, imported: Lab) -> list[str]:
    diffs = []
    for node in original:
        if node not in imported:
            diffs.append(f"{node}: missing")
            continue
        a, b = original[node], imported[node]
        skip = CANNOT_SHOW.get(type(a).__name__, ())
        for f in fields(a):
            if f.name not in skip and getattr(a, f.name) != getattr(b, f.name):
                diffs.append(f"{node}.{f.name}: {getattr(a, f.name)!r} != {getattr(b, f.name)!r}")
    diffs += [f"{n}: extra" for n in imported if n not in original]
    edges_a = sorted(original.graph.edges(keys=True))
    edges_b = sorted(imported.graph.edges(keys=True))
    if edges_a != edges_b:
        diffs.append(f"edges differ: {set(edges_a) ^ set(edges_b)}")
    return diffs


@pytest.mark.parametrize("name", ["reference", "azure", "deep"])
def test_round_trip_keeps_every_attribute_the_bundle_shows(tmp_path, name):
    original = labfile.load(f"builtin:{name}")
    collect(SimSession(original.copy()), tmp_path / "b")
    imported = import_bundle(tmp_path / "b")
    assert _differences(original, imported.lab) == []
    assert imported.assumptions == ()  # our bundles show everything the lab format holds


def test_cli_collect_then_import(tmp_path):
    runner = CliRunner()
    bundle = tmp_path / "ref.zip"
    result = runner.invoke(cli, ["collect", "builtin:reference", "-o", str(bundle)])
    assert result.exit_code == 0, result.output
    lab_file = tmp_path / "ref.yaml"
    result = runner.invoke(cli, ["import", str(bundle), "-o", str(lab_file), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["lab"] == str(lab_file) and report["assumptions"] == []
    assert labfile.load(lab_file)["HV01/L1"].processor.expose_virtualization_extensions is True


def test_cli_import_bad_bundle_is_one_line_exit_2(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "vm.txt").write_text("Name  : L1\nState : Running\nGeneration : 2\n\n%%% garbage\n")
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "b"), "-o", str(tmp_path / "x.yaml"), "--strict"])
    assert result.exit_code == 2
    assert "vm.txt:5:" in result.output and not (tmp_path / "x.yaml").exists()
    # without --strict the line is listed and skipped (issue 11: a ticket's text is evidence)
    lenient = CliRunner().invoke(cli, ["import", str(tmp_path / "b"), "-o", str(tmp_path / "x.yaml")])
    assert lenient.exit_code == 0 and "skipped vm.txt:5:" in lenient.output


# -- closed loop: the diagnosis of an imported bundle is the diagnosis of the lab ------------------

from nestlab.diagnosis import engine as diagnosis_engine  # noqa: E402  (the diagnosis is always built: an import error fails here)


def _diagnosis(lab: Lab) -> object:
    """What the diagnosis says about a lab: its findings, or the error it stops with."""
    from nestlab.diagnosis.collect import collect as gather

    try:
        report = diagnosis_engine.diagnose(gather(SimSession(lab)))
    except Exception as exc:  # noqa: BLE001 - the same failure on both sides is "the same diagnosis"
        return ("diagnosis failed", type(exc).__name__, str(exc))
    return sorted((f.root_cause, f.subject, f.severity) for f in report.findings)


def _through_bundle(lab: Lab, folder: Path) -> Lab:
    collect(SimSession(lab.copy()), folder / "bundle.zip")
    return import_bundle(folder / "bundle.zip").lab


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), shape=st.sampled_from([(1, 1), (1, 2), (2, 3)]), faults=st.integers(0, 4))
def test_imported_bundle_diagnoses_like_the_lab(tmp_path_factory, seed, shape, faults):
    from nestlab.simulator.generate import generate_with_faults

    hosts, depth = shape
    lab, _ = generate_with_faults(faults=faults, seed=seed, hosts=hosts, depth=depth)
    imported = _through_bundle(lab, tmp_path_factory.mktemp("loop"))
    assert _diagnosis(imported) == _diagnosis(lab)


@pytest.mark.parametrize("injected", [
    (("vm-generation-1", "HV01/L1"), ("host-memory-low", "HV01"),
     ("mac-spoofing-disabled", "HV01/L1:adapter:Network Adapter")),
    (("memory-change-pending", "HV01/L1/L2-web"), ("vm-generation-1", "HV01/L1"),
     ("vhd-chain-broken", "HV01:vhd:D:\\VMs\\L1\\L1_8F2A.avhdx")),
])
def test_three_faults_survive_the_bundle(tmp_path, injected):
    from nestlab.simulator.faults import CATALOG

    lab = labfile.load("builtin:reference")
    web = lab["HV01/L1/L2-web"]  # memory-change-pending is real on a guest without runtime resize (pre-2016)
    lab.update("HV01/L1/L2-web", guest=replace(web.guest, os=OSInfo(caption="Microsoft Windows Server 2012 R2 Datacenter",
                                                                     build=9600)))
    for fault_id, subject in injected:
        CATALOG[fault_id].inject(lab, subject)
    imported = _through_bundle(lab, tmp_path)
    found = {(root_cause, subject) for root_cause, subject, _ in _diagnosis(imported)}
    assert set(injected) <= found


def test_import_case_writes_expected_from_the_diagnosis(tmp_path):
    from nestlab.simulator.faults import CATALOG

    lab = labfile.load("builtin:reference")
    CATALOG["extensions-not-exposed"].inject(lab, "HV01/L1")
    collect(SimSession(lab), tmp_path / "ticket.zip")
    case = tmp_path / "cases" / "ticket-4711" / "lab.yaml"
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "ticket.zip"), "-o", str(case), "--case"])
    assert result.exit_code == 0, result.output
    expected = (case.parent / "expected").read_text().splitlines()
    assert "extensions-not-exposed HV01/L1" in expected
    from nestlab.steps.cases import load_case

    assert {e.root_cause for e in load_case(case.parent).expected} >= {"extensions-not-exposed"}


@pytest.mark.endpoint
def test_a_served_host_gives_the_same_bundle(tmp_path):
    """Through pypsrp and the served endpoint (objects serialized at depth 1, guests via PowerShell Direct)."""
    from nestlab.lab.psrp_session import HostAddress, PsrpSession
    from nestlab.simulator.endpoint.auth import Credentials
    from nestlab.simulator.endpoint.server import LabServer
    from nestlab.simulator.endpoint.testing import PASSWORD, USER

    original = labfile.load("builtin:reference")
    with LabServer(original.copy(), Credentials(USER, PASSWORD)) as server:
        addresses = [HostAddress(h, "127.0.0.1", s.port, USER, "http", "basic") for h, s in server.servers.items()]
        with PsrpSession(addresses, passwords=lambda a: PASSWORD) as session:
            result = collect(session, tmp_path / "served")
    assert not result.down
    served = (tmp_path / "served" / "HV01" / "get-vmprocessor-L1.txt").read_text()
    assert "ExposeVirtualizationExtensions               : True" in served
    assert _differences(original, import_bundle(tmp_path / "served").lab) == []
