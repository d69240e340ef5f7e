"""NodeId: the lab-format node id (spec/lab-format.md "Node identity") parsed once, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import NodeId, nat_id, switch_id, vhd_id, vm_id

SEGMENT = st.text(st.characters(blacklist_characters="/:", blacklist_categories=("Cs",)), min_size=1, max_size=12)
HOST = SEGMENT.filter(lambda name: name != "network")  # `network:NAME` is a physical network's id
KINDS = st.sampled_from(["switch", "nat", "vhd", "adapter", "nic"])
ITEM = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)  # a VHD path holds : and /


@st.composite
def node_ids(draw) -> NodeId:
    path = (draw(HOST), *draw(st.lists(SEGMENT, max_size=4)))
    if draw(st.booleans()):
        return NodeId(path, draw(KINDS), draw(ITEM))
    return NodeId(path)


@given(node_ids())
def test_parse_and_str_round_trip(node):
    assert NodeId.parse(str(node)) == node


@given(node_ids())
def test_a_node_is_within_its_owner_its_host_and_itself_and_one_deeper_than_a_vm_owner(node):
    assert node.within(node) and node.within(NodeId((node.host,)))
    if node.owner is not None:
        assert node.within(node.owner)
        assert node.depth == node.owner.depth + (1 if node.is_vm else 0)
    assert node.depth == len(node.guest_path)


@given(node_ids(), node_ids())
def test_within_is_the_prefix_of_the_nesting(node, other):
    expected = node == other or (other.kind is None and node.path[: len(other.path)] == other.path)
    assert node.within(other) is expected


def test_the_ids_the_model_builds_parse_into_their_parts():
    vm = NodeId.parse(vm_id(vm_id("HV01", "L1"), "L2-web"))
    assert (vm.host, vm.guest_path, str(vm.owner), vm.depth, vm.name) == ("HV01", ("L1", "L2-web"), "HV01/L1", 2, "L2-web")
    nat = NodeId.parse(nat_id("HV01/L1", "NestedNAT"))
    assert (nat.host, nat.guest_path, str(nat.owner), nat.depth, nat.name) == ("HV01", ("L1",), "HV01/L1", 1, "NestedNAT")
    disk = NodeId.parse(vhd_id("HV01", r"D:\VMs\L1\L1.vhdx"))
    assert (disk.kind, disk.name, str(disk.owner)) == ("vhd", r"D:\VMs\L1\L1.vhdx", "HV01")
    assert NodeId.parse(switch_id("HV01", "External")).within("HV01")
    assert not NodeId.parse("HV01/L10").within("HV01/L1")  # a name prefix is not nesting
    network = NodeId.parse("network:corp-lan")
    assert (network.host, network.owner, network.name, str(network)) == (None, None, "corp-lan", "network:corp-lan")


@pytest.mark.parametrize("text", ["", "HV01//L1", "/L1", "HV01:switch", "HV01:", "HV01::x"])
def test_what_is_not_a_node_id_is_one_line_of_bad_input(text):
    with pytest.raises(BadInput, match="not a node id") as caught:
        NodeId.parse(text)
    assert "\n" not in str(caught.value)
