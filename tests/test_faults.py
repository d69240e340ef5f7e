"""The fault catalog against its contract (spec/root-causes.md) and against the simulator's behaviour.

For every root-cause id: injecting it makes its symptom show (and the symptom did not show before),
and applying its resolution makes the symptom go away — on builtin:reference and on generated labs.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from nestlab.lab.demo import demo_lab
from nestlab.simulator import labfile
from nestlab.simulator.errors import BadInput
from nestlab.simulator.faults import CATALOG, check_symptom, get
from nestlab.simulator.generate import generate
from nestlab.simulator.model import Lab, OSInfo

SPEC = Path("/work/shared/spec/root-causes.md")
if not SPEC.exists():  # the repository's own copy, when the shared folder is not mounted
    SPEC = Path(__file__).resolve().parents[1] / "docs" / "spec" / "root-causes.md"
ROW = re.compile(r"^\| `([a-z0-9-]+)` \|[^|]*\|[^|]*\| (cmd|state) \|", re.M)
CATEGORIES = {"prerequisites", "hyperv-role", "network", "performance", "security", "nat", "storage", "resources"}

# The 100 generated labs: one to three hosts, nesting one to four levels deep.
GENERATED = [dict(seed=seed, hosts=1 + seed % 3, depth=1 + seed % 4) for seed in range(100)]


@pytest.fixture(scope="module")
def generated_labs() -> list[Lab]:
    return [generate(**args) for args in GENERATED]


def spec_rows() -> list[tuple[str, str]]:
    return ROW.findall(SPEC.read_text(encoding="utf-8"))


@pytest.mark.skipif(not SPEC.exists(), reason="spec/root-causes.md is not reachable from this checkout")
def test_catalog_has_every_spec_id_in_order_with_its_inject_kind():
    rows = spec_rows()
    assert len(rows) == 39
    assert [(f.id, f.kind) for f in CATALOG.values()] == rows


def test_every_fault_names_a_cli_category_a_section_and_a_description():
    for fault in CATALOG.values():
        assert fault.category in CATEGORIES, fault.id
        assert fault.section and fault.description, fault.id


def test_only_cmd_faults_have_scripts():
    lab = labfile.load("builtin:reference")
    for fault in CATALOG.values():
        if fault.kind == "state":
            with pytest.raises(BadInput, match="state fault"):
                fault.inject_script(lab, None)


def test_unknown_fault_is_bad_input_naming_the_catalog():
    with pytest.raises(BadInput, match=r"unknown fault 'nope' \(see nestlab faults\)"):
        get("nope")


def test_a_subject_that_is_not_a_candidate_is_refused():
    lab = labfile.load("builtin:reference")
    with pytest.raises(BadInput, match="'HV01' is not a subject"):
        get("extensions-not-exposed").inject(lab, "HV01")


def test_a_lab_without_candidates_is_refused_and_left_alone():
    lab = labfile.load("builtin:azure")  # no differencing disks
    before = lab.copy()
    with pytest.raises(BadInput, match="has no subject"):
        get("vhd-parent-missing").inject(lab)
    assert lab == before


def test_natural_subjects_on_reference():
    lab = labfile.load("builtin:reference")
    first = {fid: f.candidates(lab)[0] for fid, f in CATALOG.items() if f.candidates(lab)}
    assert first["extensions-not-exposed"] == "HV01/L1"
    assert first["host-cpu-no-virtualization"] == "HV01"
    assert first["nat-static-mapping-wrong"] == "HV01/L1:nat:NestedNAT"
    assert first["vhd-parent-missing"] == "HV01:vhd:D:\\VMs\\L1\\L1_8F2A.avhdx"


def assert_round_trip(fault_id: str, lab: Lab, subject: str | None = None) -> None:
    """inject → the symptom shows (and did not before) → heal → it is gone."""
    fault = get(fault_id)
    healthy = lab.copy()
    subject = fault.inject(lab, subject)
    assert lab != healthy, f"{fault_id} on {subject} changed nothing"
    symptom = fault.symptom(lab, subject)
    assert check_symptom(lab, symptom), f"{fault_id} on {subject}: {symptom} does not show"
    assert not check_symptom(healthy, symptom), f"{fault_id} on {subject}: {symptom} shows on the healthy lab"
    fault.heal(lab, subject)
    assert not check_symptom(lab, symptom), f"{fault_id} on {subject}: {symptom} still shows after healing"


@pytest.mark.parametrize("fault_id", list(CATALOG))
def test_inject_shows_symptom_and_heal_removes_it_on_reference(fault_id):
    # builtin:reference, or builtin:legacy for a fault real only on early builds (VBS: behaviour.py)
    assert_round_trip(fault_id, demo_lab(fault_id))


def on_server_2016(lab: Lab) -> Lab:
    """The lab with its Intel hosts on Windows Server 2016 (14393): where VBS still blocks nesting
    (simulator/behaviour.py); the generator draws 2019 and later. AMD cannot nest on 2016."""
    for host in lab.hosts():
        if lab[host].cpu.vendor == "Intel":
            lab.update_platform(host, os=OSInfo(caption="Microsoft Windows Server 2016 Datacenter", build=14393))
    return lab


def with_2012_r2_leaves(lab: Lab) -> Lab:
    """The lab with its leaf VMs' guests on Windows Server 2012 R2, which has no runtime memory
    resize (behaviour.runtime_resize); the generator draws 2019 and later guests."""
    for vm in lab.all_vms():
        if not lab.vms(vm) and not lab[vm].guest.hyperv_installed:
            lab.update(vm, guest=replace(lab[vm].guest, os=OSInfo(caption="Microsoft Windows Server 2012 R2 Datacenter",
                                                                   build=9600)))
    return lab


# The builds where a fault is real, when the generator does not draw them (simulator/behaviour.py).
REAL_ON = {"security": on_server_2016, "memory-change-pending": with_2012_r2_leaves}


@pytest.mark.parametrize("fault_id", list(CATALOG))
def test_inject_shows_symptom_and_heal_removes_it_on_generated_labs(fault_id, generated_labs):
    applied = 0
    fault = get(fault_id)
    make_real = REAL_ON.get(fault_id) or REAL_ON.get(fault.category) or (lambda lab: lab)
    for base in generated_labs:
        lab = make_real(base.copy())
        if get(fault_id).candidates(lab):
            assert_round_trip(fault_id, lab)
            applied += 1
    assert applied > 0, f"{fault_id} applies to none of {len(GENERATED)} generated labs"


@pytest.mark.parametrize("builtin", ["azure", "deep"])
def test_every_applicable_fault_round_trips_on_the_other_builtins(builtin):
    applicable = []
    for fault_id, fault in CATALOG.items():
        lab = labfile.load(f"builtin:{builtin}")
        if fault.candidates(lab):
            assert_round_trip(fault_id, lab)
            applicable.append(fault_id)
    assert applicable


def test_injection_changes_state_only():
    """The lab file after injection differs from the healthy one in the broken value and nothing else."""
    lab = labfile.load("builtin:reference")
    before = labfile.dumps(lab).splitlines()
    get("extensions-not-exposed").inject(lab)
    after = labfile.dumps(lab).splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after)
    assert [b.strip() for _, b in changed] == ["processor: {count: 4, expose_virtualization_extensions: false}"]


@pytest.mark.parametrize("fault_id", list(CATALOG))
def test_the_symptom_survives_writing_and_reading_the_lab_file(fault_id):
    """A broken lab is just a lab file: the symptom comes back from the saved state alone."""
    lab = demo_lab(fault_id)
    fault = get(fault_id)
    subject = fault.inject(lab)
    symptom = fault.symptom(lab, subject)
    reloaded = labfile.loads(labfile.dumps(lab))
    assert check_symptom(reloaded, symptom), f"{fault_id}: {symptom} lost in the lab file"
