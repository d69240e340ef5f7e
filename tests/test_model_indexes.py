"""The lab's derived indexes (edges of a kind, owners, which VMs run) are forgotten when the lab changes.

`Lab.out`/`into`/`owner` and `behaviour.is_running` keep their answers while the lab stands still
(a diagnosis asks them tens of thousands of times); each test changes the lab in one of the ways
the model allows and checks that the next answer sees the change, so an index that outlived the
change fails here.
"""

from __future__ import annotations

from nestlab.simulator import behaviour
from nestlab.simulator.model import VM, Adapter, Edge, Host, Lab, Switch, Vhd, adapter_id, switch_id, vhd_id, vm_id


def small_lab() -> Lab:
    lab = Lab("indexes")
    lab.add("HV01", Host(name="HV01"))
    lab.add(vm_id("HV01", "L1"), VM(name="L1", state="Running"))
    lab.link("HV01", "HV01/L1", Edge.HOSTS)
    lab.add(switch_id("HV01", "Ext"), Switch(name="Ext"))
    lab.link("HV01", switch_id("HV01", "Ext"), Edge.HAS)
    lab.add(adapter_id("HV01/L1", "nic0"), Adapter(name="nic0"))
    lab.link("HV01/L1", adapter_id("HV01/L1", "nic0"), Edge.HAS)
    return lab


def test_edges_of_a_kind_follow_link_and_unlink():
    lab = small_lab()
    adapter, switch = adapter_id("HV01/L1", "nic0"), switch_id("HV01", "Ext")
    assert lab.out(adapter, Edge.ATTACHED) == [] and lab.into(switch, Edge.ATTACHED) == []
    lab.link(adapter, switch, Edge.ATTACHED)
    assert lab.out(adapter, Edge.ATTACHED) == [switch] and lab.into(switch, Edge.ATTACHED) == [adapter]
    lab.unlink(adapter, switch, Edge.ATTACHED)
    assert lab.out(adapter, Edge.ATTACHED) == [] and lab.into(switch, Edge.ATTACHED) == []


def test_edges_changed_on_the_graph_itself_are_seen_after_changed():
    lab = small_lab()
    adapter, switch = adapter_id("HV01/L1", "nic0"), switch_id("HV01", "Ext")
    assert lab.switch_of(adapter) is None
    lab.graph.add_edge(adapter, switch, key=str(Edge.ATTACHED), kind=Edge.ATTACHED)
    lab.changed()
    assert lab.switch_of(adapter) == switch


def test_an_answer_is_the_callers_own_list():
    lab = small_lab()
    lab.out("HV01", Edge.HAS).append("not a node")
    lab.into("HV01/L1", Edge.HOSTS).clear()
    assert lab.out("HV01", Edge.HAS) == [switch_id("HV01", "Ext")]
    assert lab.into("HV01/L1", Edge.HOSTS) == ["HV01"]


def test_the_owner_of_a_node_follows_remove_and_add():
    lab = small_lab()
    adapter = adapter_id("HV01/L1", "nic0")
    assert lab.owner(adapter) == "HV01/L1"
    lab.remove(adapter)
    lab.add(vm_id("HV01", "L2"), VM(name="L2"))
    lab.add(adapter, Adapter(name="nic0"))
    lab.link(vm_id("HV01", "L2"), adapter, Edge.HAS)
    assert lab.owner(adapter) == "HV01/L2"


def test_whether_a_vm_runs_follows_its_record_and_its_parents():
    lab = small_lab()
    assert behaviour.is_running(lab, "HV01/L1")
    lab.update("HV01/L1", state="Off")
    assert not behaviour.is_running(lab, "HV01/L1")
    lab.update("HV01/L1", state="Running")
    assert behaviour.is_running(lab, "HV01/L1")
    lab.update_platform("HV01", hypervisor_launch="off")  # the hypervisor below it stops
    assert not behaviour.is_running(lab, "HV01/L1")


def test_the_vms_below_an_owner_and_the_chain_above_a_vm_follow_the_nesting():
    lab = small_lab()
    assert lab.vms("HV01", recursive=True) == ["HV01/L1"]
    lab.add(vm_id("HV01/L1", "L2"), VM(name="L2"))
    lab.link("HV01/L1", "HV01/L1/L2", Edge.RUNS)
    assert lab.vms("HV01", recursive=True) == ["HV01/L1", "HV01/L1/L2"]
    assert (lab.ancestors("HV01/L1/L2"), lab.root_host("HV01/L1/L2")) == (["HV01/L1", "HV01"], "HV01")
    lab.add("HV02", Host(name="HV02"))
    lab.unlink("HV01/L1", "HV01/L1/L2", Edge.RUNS)
    lab.link("HV02", "HV01/L1/L2", Edge.HOSTS)  # moved (the id keeps its old path: only edges say where)
    assert lab.vms("HV01", recursive=True) == ["HV01/L1"]
    assert (lab.ancestors("HV01/L1/L2"), lab.root_host("HV01/L1/L2")) == (["HV02"], "HV02")


def test_a_disk_asked_by_path_in_another_case_follows_a_changed_path():
    lab = small_lab()
    disk = lab.add(vhd_id("HV01", "C:\\VMs\\L1.vhdx"), Vhd(path="C:\\VMs\\L1.vhdx"))
    lab.link("HV01", disk, Edge.HAS)
    assert lab.vhd_by_path("HV01", "c:\\vms\\l1.VHDX") == disk
    lab.update(disk, path="D:\\Moved\\L1.vhdx")  # a record change: the node id stays
    assert lab.vhd_by_path("HV01", "c:\\vms\\l1.vhdx") is None
    assert lab.vhd_by_path("HV01", "d:\\moved\\L1.VHDX") == disk


def test_what_an_owner_has_is_sorted_by_kind_and_follows_link_and_remove():
    lab = small_lab()
    disk = lab.add(vhd_id("HV01", "C:\\VMs\\L1.vhdx"), Vhd(path="C:\\VMs\\L1.vhdx"))
    assert lab.owned("HV01", "switch") == [switch_id("HV01", "Ext")] and lab.owned("HV01", "vhd") == []
    lab.link("HV01", disk, Edge.HAS)
    assert lab.owned("HV01", "vhd") == [disk] and lab.owned("HV01", "switch") == [switch_id("HV01", "Ext")]
    assert lab.owned("HV01", "nat") == [] and lab.owned("HV01/L1", "adapter") == [adapter_id("HV01/L1", "nic0")]
    lab.remove(switch_id("HV01", "Ext"))
    assert lab.owned("HV01", "switch") == [] and lab.owned("HV01", "vhd") == [disk]


def test_the_vms_an_owner_runs_list_hosts_edges_before_runs_edges():
    lab = small_lab()
    lab.add(vm_id("HV01", "L0"), VM(name="L0"))
    lab.link("HV01", vm_id("HV01", "L0"), Edge.RUNS)  # declared first, but a RUNS edge
    lab.add(vm_id("HV01", "L2"), VM(name="L2"))
    lab.link("HV01", vm_id("HV01", "L2"), Edge.HOSTS)
    assert lab.vms("HV01") == ["HV01/L1", "HV01/L2", "HV01/L0"]
    lab.unlink("HV01", "HV01/L1", Edge.HOSTS)
    assert lab.vms("HV01") == ["HV01/L2", "HV01/L0"]



def test_the_hypervisor_status_of_a_host_follows_its_platform():
    lab = small_lab()
    assert behaviour.hypervisor_status(lab, "HV01").running
    lab.update_platform("HV01", hypervisor_launch="off")
    assert behaviour.hypervisor_status(lab, "HV01").reason == "launch-off"
    lab.update_platform("HV01", hypervisor_launch="auto")
    assert behaviour.hypervisor_status(lab, "HV01").running


def test_the_event_history_a_log_shows_follows_the_platform():
    from dataclasses import replace

    from nestlab.simulator import powershell

    lab = small_lab()

    def system_events() -> int:
        return len(powershell.run_line(lab, "HV01", "Get-WinEvent -LogName System").output)

    def background(kind: str) -> None:
        lab.update_platform("HV01", os=replace(lab.platform("HV01").os, background=kind))

    background("realistic")
    realistic = system_events()
    background("minimal")  # no routine history: only what the lab's state explains
    minimal = system_events()
    assert minimal < realistic
    background("realistic")
    assert system_events() == realistic
