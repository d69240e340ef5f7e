"""The lab's networkx graph, written by `Lab.add`/`link`/`unlink` themselves, compactly.

`add`, `link` and `unlink` write networkx's node and adjacency dicts directly (a lab load and every
evidence rebuild make ~11 of them per VM), and every edge of one kind shares one key dict and one
data dict that refuse changes. The graph must still be exactly the one networkx's own calls build
(same nodes, adjacency, order and data), stay a working networkx graph for whoever edits it through
networkx, and copy, pickle and compare as before.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import networkx as nx
import pytest

from nestlab.simulator.generate import generate
from nestlab.simulator.model import VM, Adapter, Cpu, Edge, Host, Lab, Network, OSInfo, Switch, Vhd, adapter_id, switch_id, vhd_id, vm_id


def built(lab: Lab) -> Lab:
    """Nodes and edges of every kind, a second kind between one pair, an edge to a node with no
    record, an edge linked twice, and unlinks of a single and of one of two kinds."""
    vm, sw, vhd, nic0 = vm_id("HV01", "L1"), switch_id("HV01", "Ext"), vhd_id("HV01", "C:\\a.vhdx"), adapter_id("HV01/L1", "nic0")
    lab.add("HV01", Host(name="HV01"))
    lab.add(vm, VM(name="L1"))
    lab.link("HV01", vm, Edge.HOSTS)
    lab.add(sw, Switch(name="Ext"))
    lab.link("HV01", sw, Edge.HAS)
    lab.add(vhd, Vhd(path="C:\\a.vhdx"))
    lab.link("HV01", vhd, Edge.HAS)
    lab.link(vm, vhd, Edge.DISK)
    lab.link(vm, vhd_id("HV01", "C:\\missing.vhdx"), Edge.DISK)  # a bare node, as the rebuild makes
    lab.add(nic0, Adapter(name="nic0"))
    lab.link(vm, nic0, Edge.HAS)
    lab.link(nic0, sw, Edge.ATTACHED)
    lab.link(nic0, sw, Edge.ATTACHED)  # again: nothing changes
    lab.link(sw, nic0, Edge.UPLINK)
    lab.link(sw, nic0, Edge.NAT)  # a second kind between the same two nodes
    lab.link(sw, nic0, Edge.PARENT)
    lab.unlink(sw, nic0, Edge.NAT)  # one of three kinds
    lab.unlink(vm, vhd, Edge.DISK)  # the only kind
    lab.unlink(vm, vhd, Edge.DISK)  # not there any more: nothing
    return lab


class NetworkxLab(Lab):
    """The same building through networkx's own calls (what Lab did before)."""

    def add(self, node_id, record):
        if node_id in self.graph:
            raise ValueError(f"duplicate node id {node_id!r}")
        self.graph.add_node(node_id, record=record, kind=type(record).__name__.lower())
        return node_id

    def link(self, src, dst, kind):
        self.graph.add_edge(src, dst, key=str(kind), kind=kind)

    def unlink(self, src, dst, kind):
        if self.graph.has_edge(src, dst, key=str(kind)):
            self.graph.remove_edge(src, dst, key=str(kind))


def plain(graph: nx.MultiDiGraph) -> tuple:
    """Everything of a graph, orders included, as plain values."""
    nodes = [(n, dict(d)) for n, d in graph._node.items()]
    succ = [(u, [(v, [(k, dict(d)) for k, d in keys.items()]) for v, keys in nbrs.items()]) for u, nbrs in graph._succ.items()]
    pred = [(u, [(v, [(k, dict(d)) for k, d in keys.items()]) for v, keys in nbrs.items()]) for u, nbrs in graph._pred.items()]
    return nodes, succ, pred


def test_the_graph_is_the_one_networkx_builds():
    ours, theirs = built(Lab("g")), built(NetworkxLab("g"))
    assert plain(ours.graph) == plain(theirs.graph)
    assert ours.out(switch_id("HV01", "Ext"), Edge.PARENT) == [adapter_id("HV01/L1", "nic0")]
    with pytest.raises(ValueError, match="duplicate node id"):
        ours.add("HV01", Host(name="HV01"))


def test_edges_of_a_kind_share_their_dicts():
    lab = generate(seed=3, hosts=1, depth=2, vms_per_host=6)
    keys = {}
    for u, nbrs in lab.graph._succ.items():
        for v, kd in nbrs.items():
            (key,) = kd
            keys.setdefault(key, set()).add(id(kd))
            assert lab.graph._pred[v][u] is kd
    assert len(keys) >= 5 and all(len(made) == 1 for made in keys.values())


def test_shared_edge_dicts_refuse_changes_and_networkx_edits_get_their_own():
    lab = built(Lab("g"))
    sw, nic0, vm = switch_id("HV01", "Ext"), adapter_id("HV01/L1", "nic0"), vm_id("HV01", "L1")
    with pytest.raises(TypeError):
        lab.graph.edges[nic0, sw, "attached"]["weight"] = 3
    with pytest.raises(TypeError):
        lab.graph.edges[nic0, sw, "attached"].update(weight=3)
    other = built(Lab("g"))
    lab.graph.add_edge(nic0, sw, key="attached", weight=3)  # copy on write: this pair only
    lab.graph.remove_edge("HV01", vm, key="hosts")
    lab.changed()
    assert lab.graph.edges[nic0, sw, "attached"] == {"kind": Edge.ATTACHED, "weight": 3}
    assert other.graph.edges[nic0, sw, "attached"] == {"kind": Edge.ATTACHED}
    assert lab.vms("HV01") == [] and other.vms("HV01") == [vm]
    lab.graph.add_edges_from([("HV01", vm, "hosts", {"kind": Edge.HOSTS})])
    lab.changed()
    assert lab.vms("HV01") == [vm]


def test_copy_pickle_and_deepcopy_keep_the_lab_and_its_sharing():
    lab = generate(seed=4, hosts=1, depth=2, vms_per_host=6)
    (host,) = lab.hosts()
    for other in (lab.copy(), pickle.loads(pickle.dumps(lab)), copy.deepcopy(lab)):
        assert other == lab and plain(other.graph) == plain(lab.graph)
        first = next(iter(lab.graph._succ[host].values()))
        assert next(iter(other.graph._succ[host].values())) is first  # the one shared dict
    copied = lab.copy()
    vm = lab.vms(host)[0]
    copied.unlink(host, vm, Edge.HOSTS)
    copied.remove(copied.adapters(vm)[0])
    assert lab.vms(host)[0] == vm and lab.adapters(vm) and copied.vms(host)[:1] != [vm]


def test_records_are_slotted_and_keep_replace_copy_pickle_and_their_defaults():
    """`slots=True` on the records (no `__dict__` each); their field defaults stay readable by name
    in `DEFAULTS`, where diagnosis/parse.py reads its fallbacks (slots leave `Cpu.cores` a slot
    descriptor, not 16)."""
    lab = generate(seed=5, hosts=1, depth=2, vms_per_host=4)
    for node in lab:
        record = lab[node] if lab.kind(node) else None
        if record is None:
            continue
        assert not hasattr(record, "__dict__")
        assert dataclasses.replace(record) == record == copy.copy(record) == pickle.loads(pickle.dumps(record))
        assert hash(record) == hash(copy.deepcopy(record))
    assert (Cpu.DEFAULTS["cores"], Vhd.DEFAULTS["size_gb"], OSInfo.DEFAULTS["caption"]) == (
        Cpu().cores, Vhd(path="x").size_gb, OSInfo().caption)
    assert "path" not in Vhd.DEFAULTS and Host.DEFAULTS["hyperv_installed"] is True


def test_parse_fallbacks_read_the_record_defaults():
    """An answer without the property takes the record's default (a bundle whose host shows no CPU)."""
    from nestlab.diagnosis.parse import host_cpu, os_info, vhd_record
    from nestlab.simulator.psdata import PSObject

    assert host_cpu(None, True) == Cpu()
    assert os_info(None) == OSInfo()
    assert vhd_record(PSObject(("Microsoft.Vhd.PowerShell.VirtualHardDisk",), {"Path": "C:\\x.vhdx"}),
                      "HV01").size_gb == Vhd(path="x").size_gb


def test_records_read_through_the_lab_follow_every_change():
    lab = built(Lab("g"))
    vm, nic0 = vm_id("HV01", "L1"), adapter_id("HV01/L1", "nic0")
    lab.update(vm, state="Running")
    assert lab[vm].state == "Running" and lab.graph.nodes[vm]["record"].state == "Running"
    lab.graph.nodes[vm]["record"] = VM(name="L1", state="Saved")  # on the graph itself, then changed()
    lab.graph.remove_node(nic0)
    lab.changed()
    assert lab[vm].state == "Saved" and lab.platform(vm) is lab[vm].guest
    with pytest.raises(KeyError, match="no node"):
        lab[nic0]
    lab.remove(vm)
    with pytest.raises(KeyError, match="no node"):
        lab.platform(vm)
    other = built(Lab("other"))
    lab.graph = other.graph.copy()
    assert lab[vm] == other[vm] and lab[nic0] == other[nic0]
    with pytest.raises(KeyError, match="no node"):
        lab[vhd_id("HV01", "C:\\missing.vhdx")]  # an edge's bare end has no record


def test_networkx_caches_on_the_graph_are_dropped_by_each_change():
    lab = built(Lab("g"))
    for change in (lambda: lab.add("HV02", Host(name="HV02")), lambda: lab.link("HV02", "HV01", Edge.UPLINK),
                   lambda: lab.unlink("HV02", "HV01", Edge.UPLINK)):
        lab.graph.__networkx_cache__["converted"] = object()
        change()
        assert lab.graph.__networkx_cache__ == {}


def test_immutable_defaults_are_shared():
    first, second = VM(name="a"), VM(name="b")
    assert first.guest is second.guest and first.processor is second.processor
    assert Host(name="h").security is Host(name="i").security and first.guest.services is Host(name="h").services


def test_derived_answers_are_one_table_per_question_keyed_by_node():
    """No key tuple is kept per node asked: a question's answers sit in one table keyed by node id."""
    lab = generate(seed=6, hosts=2, depth=2, vms_per_host=8)
    for node in lab:
        for kind in Edge:
            lab.out(node, kind), lab.into(node, kind)
        if lab.kind(node) in ("vm", "host"):
            lab.owned(node, "vhd"), lab.vms(node, recursive=True)
        if lab.kind(node) == "vm":
            lab.parent(node), lab.ancestors(node), lab.root_host(node)
        elif lab.kind(node) in ("vhd", "adapter", "switch"):
            lab.owner(node)
    assert len(lab._shape) <= 2 * len(Edge) + 8 < len(lab.graph)
    assert lab._shape["owner"] and all(isinstance(table, dict) for table in lab._shape.values())
    lab.link(lab.hosts()[0], lab.hosts()[1], Edge.UPLINK)
    assert not lab._shape


def test_vhd_by_path_answers_with_the_id_the_graph_holds():
    """`vhd_by_path` returns the graph's own id string, not the copy it formats to look the disk
    up: whoever keeps the answer (an edge to the disk, a table keyed by it) keeps no second copy.
    Through `add`, `changed()`, a new `graph` and `remove`; a bare node is still found by its id."""
    lab = built(Lab("g"))
    path = "C:\\a.vhdx"

    def held() -> str:
        return next(n for n in lab.graph._node if n == vhd_id("HV01", path))

    assert lab.vhd_by_path("HV01", path) is held()
    lab.changed()
    assert lab.vhd_by_path("HV01", path) is held()
    lab.graph = built(Lab("other")).graph.copy()
    assert lab.vhd_by_path("HV01", path) is held()
    assert lab.vhd_by_path("HV01", "C:\\missing.vhdx") == vhd_id("HV01", "C:\\missing.vhdx")  # bare node
    assert lab.vhd_by_path("HV01", "c:\\A.VHDX") is held()  # another case: the path table's answer
    lab.remove(held())
    assert lab.vhd_by_path("HV01", path) is None


def test_parent_and_owner_keep_only_their_own_answer():
    """`parent` and `owner` read the adjacency themselves: asking them leaves no `into` entries
    behind (a 1-tuple and an empty tuple per VM, a 1-tuple per owned node), and `into` still answers."""
    lab = built(Lab("g"))
    vm, vhd = vm_id("HV01", "L1"), vhd_id("HV01", "C:\\a.vhdx")
    assert lab.parent(vm) == "HV01" and lab.owner(vhd) == "HV01"
    assert set(lab._shape) == {"parent", "owner"}
    assert lab.into(vm, Edge.HOSTS) == ["HV01"] and lab.into(vhd, Edge.HAS) == ["HV01"]
    with pytest.raises(ValueError):
        lab.owner(vm)  # no HAS edge into a VM, as before


def test_an_owners_members_are_kept_as_one_tuple_per_kind():
    """`owned` keeps an owner's members as one tuple per kind in a fixed order (not a dict by kind),
    through `owned`, `adapters` and `index_owners` alike; a member of another kind keeps the dict."""
    for fill in ("owned", "index"):
        lab = built(Lab("g"))
        vm = vm_id("HV01", "L1")
        if fill == "index":
            lab.index_owners()
        assert lab.owned("HV01", "switch") == [switch_id("HV01", "Ext")]
        assert lab.owned("HV01", "vhd") == [vhd_id("HV01", "C:\\a.vhdx")] and lab.owned("HV01", "nic") == []
        assert lab.adapters(vm) == [adapter_id(vm, "nic0")] and lab.owned(vm, "vm") == []
        assert type(lab._shape["owned"]["HV01"]) is tuple and type(lab._shape["owned"][vm]) is tuple
    lab.add("network:lan", Network(name="lan"))
    lab.link("HV01", "network:lan", Edge.HAS)
    assert lab.owned("HV01", "network") == ["network:lan"] and lab.owned("HV01", "switch") == [switch_id("HV01", "Ext")]
