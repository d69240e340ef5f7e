"""Objects built from a Shape are the objects `obj()` builds from the same property list."""

from __future__ import annotations

import pytest

from nestlab.simulator import powershell
from nestlab.simulator.cmdlets import enums
from nestlab.simulator.cmdlets.base import obj
from nestlab.simulator.cmdlets.network import ADAPTER_SHAPE
from nestlab.simulator.cmdlets.shapes import VARIES, Shape
from nestlab.simulator.cmdlets.vhd import VHD_SHAPE
from nestlab.simulator.cmdlets.vm import DRIVE_SHAPE, MEMORY_SHAPE, PROCESSOR_SHAPE, VM_SHAPE
from nestlab.simulator.generate import generate
from nestlab.simulator.psdata import Command

SHAPE = Shape("T.Thing", [("Name", VARIES), ("Kind", "fixed"), ("State", enums.on_off(True)), ("Tags", VARIES)])


def test_an_object_is_the_one_obj_makes_with_its_own_index_and_lists():
    one = SHAPE.make({"Name": "a", "Tags": []}, to_string="thing a")
    two = SHAPE.make({"Tags": [], "Name": "b"})
    assert one == obj("T.Thing", [("Name", "a"), ("Kind", "fixed"), ("State", enums.on_off(True)), ("Tags", [])])
    assert list(two) == ["Name", "Kind", "State", "Tags"] and two["name"] == "b"
    assert (str(one), str(two), two.type_names) == ("thing a", "T.Thing", ("T.Thing", "System.Object"))
    one._index["extra"] = "Extra"
    assert "extra" not in two._index and one["Tags"] is not two["Tags"]


def test_a_name_outside_the_shape_is_refused_rather_than_appended():
    with pytest.raises(KeyError):
        SHAPE.make({"Name": "a", "Tags": [], "Colour": "red"})


def test_a_template_cannot_hold_a_value_every_object_would_share_and_a_script_could_change():
    with pytest.raises(TypeError):
        Shape("T.Bad", [("Tags", [])])
    with pytest.raises(ValueError):
        Shape("T.Bad", [("Name", "a"), ("Name", "b")])


def test_the_cmdlets_leave_no_placeholder_in_what_they_write():
    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    every = {"VMName": "*"}
    pipelines = [(Command("Get-VM"),), (Command("Get-VMNetworkAdapter", tuple(every.items())),),
                 (Command("Get-VMMemory", tuple(every.items())),), (Command("Get-VMProcessor", tuple(every.items())),),
                 (Command("Get-VMHardDiskDrive", tuple(every.items())),),
                 (Command("Get-VMHardDiskDrive", tuple(every.items())), Command("Get-VHD"))]
    seen = set()
    for pipeline in pipelines:
        for made in powershell.run(lab, lab.hosts()[0], pipeline).output:
            assert all(value is not VARIES for value in made.values())
            seen.add(made.type_names[0])
    assert seen == {s.type_names[0] for s in (VM_SHAPE, ADAPTER_SHAPE, VHD_SHAPE, DRIVE_SHAPE, MEMORY_SHAPE, PROCESSOR_SHAPE)}
