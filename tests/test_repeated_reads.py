"""Leading read-only stages answered once per lab state (simulator.repeated_reads): the answers stay
what the cmdlets compute, a change of the lab is seen at once, and what a caller holds is never reused."""

from __future__ import annotations

from nestlab.simulator import labfile, powershell
from nestlab.simulator.psdata import Command as C
from nestlab.simulator.pwsh import run_script
from nestlab.simulator.pwsh.values import has_property, set_property
from nestlab.simulator.repeated_reads import reach

HOST = "HV01"
DRIVES = C("Get-VMHardDiskDrive", (("VMName", "*"),))
VHDS = (DRIVES, C("Get-VHD"))
PARENTS = (*VHDS, C("Where-Object", (("Property", "ParentPath"), ("Like", "?*"))),
           C("Select-Object", (("ExpandProperty", "ParentPath"),)), C("Get-VHD"))


def fresh_answer(pipeline):
    return powershell.run(labfile.load("builtin:reference"), HOST, pipeline)


def test_a_pipeline_that_starts_with_kept_stages_answers_as_a_fresh_lab_does():
    lab = labfile.load("builtin:reference")
    first = powershell.run(lab, HOST, PARENTS)
    assert powershell.run(lab, HOST, VHDS) == fresh_answer(VHDS)
    again = powershell.run(lab, HOST, PARENTS)
    assert again == first == fresh_answer(PARENTS)
    assert all(a is not b for a, b in zip(again.output, first.output))  # the last stage ran again


def test_a_change_of_the_lab_is_seen_by_the_next_pipeline():
    lab = labfile.load("builtin:reference")
    before = powershell.run(lab, HOST, (*VHDS, C("Select-Object", (("Property", ["Path", "Attached"]),))))
    assert any(o["Attached"] for o in before.output)
    assert powershell.run(lab, HOST, (C("Stop-VM", (("Name", "L1"), ("TurnOff", True))),)).ok
    after = powershell.run(lab, HOST, (*VHDS, C("Select-Object", (("Property", ["Path", "Attached"]),))))
    assert [o["Path"] for o in after.output] == [o["Path"] for o in before.output]
    assert not any(o["Attached"] for o in after.output if "L1" in o["Path"] or o["Path"] in _l1_disks(lab))


def _l1_disks(lab):
    return [lab[d].path for d in lab.disks("HV01/L1")]


def test_objects_a_script_changed_are_not_answered_again():
    lab = labfile.load("builtin:reference")
    # the script holds Get-VHD's objects (passed through Where-Object) and changes one of them
    script = ("$d = Get-VMHardDiskDrive -VMName * | Get-VHD | Where-Object -Property Path -Like '*'\n"
              "$d[0].Path = 'changed'\n"
              "(Get-VMHardDiskDrive -VMName * | Get-VHD | Where-Object -Property Path -Like '*')[0].Path")
    result = run_script(lambda context, pipeline: powershell.run(lab, context, pipeline), HOST, script)
    assert not result.errors, [e.message for e in result.errors]
    assert list(result.output) == [fresh_answer(VHDS).output[0]["Path"]]


def test_a_kept_output_handed_to_a_caller_is_forgotten():
    lab = labfile.load("builtin:reference")
    powershell.run(lab, HOST, PARENTS)  # keeps the drives and their VHDs
    passed = powershell.run(lab, HOST, (*VHDS, C("Where-Object", (("Property", "Path"), ("Like", "*")))))
    set_property(passed.output[0], "Path", "changed")
    assert powershell.run(lab, HOST, VHDS) == fresh_answer(VHDS)


def test_reach_sees_objects_nested_in_lists_and_expandable_strings():
    from nestlab.simulator.cmdlets.network import Nested
    from nestlab.simulator.psdata import PSObject

    inner = PSObject(("T",), [("A", 1)])
    outer = PSObject(("T",), [("List", [inner]), ("Nested", Nested("text", PSObject(("U",), [])))])
    found = reach([outer])
    assert {id(outer), id(inner), id(outer["List"]), id(outer["Nested"].obj)} <= found


def test_a_stage_output_passed_through_to_the_caller_is_not_kept():
    lab = labfile.load("builtin:reference")
    passed = powershell.run(lab, HOST, (*VHDS, C("Where-Object", (("Property", "Path"), ("Like", "*")))))
    set_property(passed.output[0], "Path", "changed")  # Get-VHD's own objects, passed through by Where-Object
    assert powershell.run(lab, HOST, VHDS) == fresh_answer(VHDS)


def test_a_property_added_to_one_object_is_not_added_to_its_kind():
    lab = labfile.load("builtin:reference")
    first, second = powershell.run(lab, HOST, (C("Get-Service", (("Name", ["vmms", "vmcompute"]),)),)).output
    set_property(first, "Extra", 1)
    assert has_property(first, "Extra") and not has_property(second, "Extra")
