"""A shape's property-name index is shared by its objects until a script adds a name to one.

psdata.SharedIndex: one index per shape, not a copy per object (memory of the answers the
evidence keeps; a dict copy per object made). These tests hold the two promises that make the
sharing safe: no write reaches the shared index, and the one writer of names
(pwsh.values.set_property) gives the object its own index first."""

from __future__ import annotations

import copy
import pickle

import pytest

from nestlab.simulator import labfile, powershell
from nestlab.simulator.clixml import roundtrip_result, wire_copy_result
from nestlab.simulator.cmdlets.base import obj
from nestlab.simulator.psdata import Command, SharedIndex
from nestlab.simulator.pwsh.values import has_property, set_property


def test_objects_of_one_shape_share_one_index_that_refuses_changes():
    one, two = obj("T.Thing", [("Name", "a"), ("Size", 1)]), obj("T.Thing", [("Name", "b"), ("Size", 2)])
    assert one._index is two._index and type(one._index) is SharedIndex
    for change in (lambda i: i.__setitem__("x", "X"), lambda i: i.update(x="X"), lambda i: i.pop("name"),
                   lambda i: i.setdefault("x", "X"), lambda i: i.clear(), lambda i: i.__delitem__("name")):
        with pytest.raises(TypeError):
            change(one._index)
    assert dict(one._index) == {"name": "Name", "size": "Size"}


def test_a_name_added_by_a_script_goes_to_that_object_alone():
    one, two = obj("T.Thing", [("Name", "a")]), obj("T.Thing", [("Name", "b")])
    set_property(one, "Name", "renamed")  # an existing name: the index is not touched
    assert one._index is two._index and one["name"] == "renamed"
    set_property(one, "Extra", 1)
    assert one["EXTRA"] == 1 and has_property(one, "extra")
    assert not has_property(two, "extra") and "extra" not in obj("T.Thing", [("Name", "c")])
    assert type(one._index) is dict and type(two._index) is SharedIndex


def test_a_shared_index_survives_pickle_and_copy():
    thing = obj("T.Thing", [("Name", "a")])
    for made in (pickle.loads(pickle.dumps(thing)), copy.deepcopy(thing), copy.copy(thing)):
        assert made == thing and made["name"] == "a" and dict(made._index) == {"name": "Name"}


def test_the_wire_copy_keeps_a_shared_index_and_reads_like_the_real_round_trip():
    lab = labfile.load("builtin:reference")
    result = powershell.run(lab, "HV01", (Command("Get-VMNetworkAdapter", (), (("VMName", "L1"),)),))
    assert result.output, "the reference lab's L1 has an adapter"
    copied, real = wire_copy_result(result), roundtrip_result(result)
    assert copied.output == real.output
    assert all(type(o._index) is SharedIndex for o in copied.output)
    assert [dict(o._index) for o in copied.output] == [dict(o._index) for o in real.output]
