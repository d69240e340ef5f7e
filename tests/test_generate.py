"""The generator: valid, healthy, deterministic labs of the requested shape, and its CLI."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import nestlab.simulator.faults as fault_catalog
import nestlab.simulator.labfile as labfile
from nestlab.lab.cli import cli
from nestlab.simulator.errors import BadInput
from nestlab.simulator.generate import generate, generate_with_faults
from nestlab.simulator.labfile import dumps, lab_from_data, lab_to_data
from nestlab.simulator.model import VM, Edge, Host, Lab, ip_of

SETTINGS = settings(max_examples=30, deadline=None)


@st.composite
def lab_args(draw, max_hosts: int = 4, max_depth: int = 5) -> dict:
    depth = draw(st.integers(1, max_depth))
    vms = draw(st.one_of(st.none(), st.integers(depth, depth + 8)))
    return {"seed": draw(st.integers(0, 2**32)), "hosts": draw(st.integers(1, max_hosts)), "depth": depth, "vms_per_host": vms}


SMALL = {"max_hosts": 2, "max_depth": 3}  # where the slow part is writing YAML text


def reload(text: str, tmp_path: Path) -> Lab:
    """The labfile's own reading of a text (its validating `loads` when it has one)."""
    loads = getattr(labfile, "loads", None)
    if loads is not None:
        return loads(text)
    path = tmp_path / "lab.yaml"
    path.write_text(text, encoding="utf-8")
    return labfile.load(path)


# ----------------------------------------------------------------------------------------------
# Validity, round trip, identity
# ----------------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(args=lab_args(max_hosts=3))
def test_any_generated_lab_validates_and_round_trips(args, tmp_path_factory):
    lab = generate(**args)
    text = dumps(lab)
    again = reload(text, tmp_path_factory.mktemp("lab"))
    assert again == lab
    assert dumps(again) == text
    assert lab_from_data(lab_to_data(lab)) == lab


@SETTINGS
@given(args=lab_args())
def test_node_ids_are_unique_and_follow_the_tree(args):
    lab = generate(**args)
    ids = []

    def walk(owner_id: str, owner: dict) -> None:
        names = [vm["name"] for vm in owner.get("vms", ())]
        assert len(names) == len(set(names)), f"sibling VM names repeat under {owner_id}"
        for vm in owner.get("vms", ()):
            ids.append(f"{owner_id}/{vm['name']}")
            walk(ids[-1], vm.get("guest", {}))

    for host in lab_to_data(lab)["hosts"]:
        ids.append(host["name"])
        walk(host["name"], host)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(lab.hosts() + lab.all_vms())


@SETTINGS
@given(args=lab_args())
def test_macs_are_unique_and_ips_unique_within_a_network(args):
    lab = generate(**args)
    macs = [lab.mac(a) for a in lab.nodes("adapter")]
    assert len(macs) == len(set(macs))
    assert all(re.fullmatch(r"00155D[0-9A-F]{6}", m) for m in macs)
    by_segment: dict[str, list[str]] = {}
    for nic in lab.nodes("nic"):
        (network,) = lab.out(nic, Edge.UPLINK)
        by_segment.setdefault(network, []).append(ip_of(lab[nic].ip))
    for vm in lab.all_vms():
        for adapter in lab.adapters(vm):
            path = lab.path_to_lan(vm)
            segment = path[-1] if path else lab.switch_of(adapter)
            by_segment.setdefault(segment, []).append(ip_of(lab[adapter].ip))
    for segment, ips in by_segment.items():
        assert None not in ips, f"an adapter on {segment} has no address"
        repeated = [ip for ip, n in Counter(ips).items() if n > 1]
        assert not repeated, f"{segment}: {repeated} used twice"


@SETTINGS
@given(args=lab_args())
def test_host_count_depth_and_vm_count_are_honoured(args):
    lab = generate(**args)
    assert len(lab.hosts()) == args["hosts"]
    for host in lab.hosts():
        vms = lab.vms(host, recursive=True)
        assert max(lab.depth(vm) for vm in vms) == args["depth"]
        if args["vms_per_host"] is not None:
            assert len(vms) == args["vms_per_host"]


def test_depth_n_is_a_chain_of_nested_hyperv_hosts():
    lab = generate(seed=5, depth=4, vms_per_host=4)
    (host,) = lab.hosts()
    chain = [host]
    while lab.vms(chain[-1]):
        (vm,) = lab.vms(chain[-1])
        chain.append(vm)
    assert len(chain) == 5
    assert all(lab[vm].guest.hyperv_installed for vm in chain[1:-1])


# ----------------------------------------------------------------------------------------------
# Determinism
# ----------------------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(args=lab_args(**SMALL))
def test_same_arguments_give_the_same_file(args):
    assert dumps(generate(**args)) == dumps(generate(**args))


@settings(max_examples=15, deadline=None)
@given(args=lab_args(**SMALL), other=st.integers(0, 2**32))
def test_different_seeds_give_different_files(args, other):
    if other == args["seed"]:
        other += 1
    assert dumps(generate(**args)) != dumps(generate(**{**args, "seed": other}))


def test_name_argument_names_the_lab():
    assert generate(name="contoso-4711").name == "contoso-4711"


# ----------------------------------------------------------------------------------------------
# Health: nothing in spec/root-causes.md is true of a generated lab
# ----------------------------------------------------------------------------------------------


NESTED_AZURE_SIZE = re.compile(r"Standard_[DE]\d+d?s?_v[345]")  # Dv3+/Ev3+ Intel families (notes.md §1.7)


def lan_of(lab: Lab, host: str) -> str:
    """The physical network node a host's (first) NIC is on."""
    return lab.out(lab.owned(host, "nic")[0], Edge.UPLINK)[0]


def nested_hosts(lab: Lab) -> list[str]:
    return [vm for vm in lab.all_vms() if lab.vms(vm)]


def host_problems(lab: Lab, host_id: str) -> list[str]:
    host: Host = lab[host_id]
    problems = []
    if host.os.build < 17763 or (host.cpu.vendor == "AMD" and host.os.build < 20348):
        problems.append("host OS too old to nest")
    cpu = host.cpu
    if not (cpu.virtualization_extensions and cpu.slat and cpu.enabled_in_firmware):
        problems.append("CPU virtualization off")
    if host.memory_gb < 8:
        problems.append("host memory low")
    vms = lab.vms(host_id)
    running = sum(lab[vm].processor.count for vm in vms if lab[vm].state == "Running")
    if running > cpu.cores:
        problems.append(f"running vCPUs {running} > cores {cpu.cores}")
    if sum(lab[vm].memory.startup_gb for vm in vms) > host.memory_gb - 4:
        problems.append("VMs' memory over host memory - 4 GB")
    if host.kind == "azure-vm" and not NESTED_AZURE_SIZE.fullmatch(host.azure_size or ""):
        problems.append(f"Azure size {host.azure_size} does not nest")
    heavy = [vm for vm in vms if lab[vm].workload == "heavy"]
    if len(heavy) > 1:
        problems.append("noisy neighbours")
    return problems


def nested_host_problems(lab: Lab, vm_id: str) -> list[str]:
    vm: VM = lab[vm_id]
    problems = []
    if vm.generation != 2 or not vm.processor.expose_virtualization_extensions:
        problems.append("generation 1 or extensions not exposed")
    if vm.state != "Running" or not vm.guest.hyperv_installed or vm.guest.os.build < 20348:
        problems.append("not a running Hyper-V host on a nesting OS")
    if vm.processor.count < 4:
        problems.append("fewer than 4 vCPUs")
    if vm.memory.startup_gb < 4 or vm.memory.dynamic or vm.memory.pending_startup_gb is not None:
        problems.append("memory too small, dynamic or pending")
    children = lab.vms(vm_id)
    if sum(lab[c].memory.startup_gb for c in children) > vm.memory.startup_gb - 2:
        problems.append("nested VMs' memory over own - 2 GB")
    running = sum(lab[c].processor.count for c in children if lab[c].state == "Running")
    if running > vm.processor.count:
        problems.append("nested VMs' vCPUs over own")
    if any(lab[d].type != "fixed" for d in lab.disks(vm_id)):
        problems.append("not on a fixed VHD")
    for adapter in lab.adapters(vm_id):
        switch = lab.switch_of(adapter)
        if lab[switch].type == "External" and not lab[adapter].mac_spoofing:
            problems.append("MAC spoofing off on an External switch")
    if float(vm.version) < (9.3 if lab[lab.root_host(vm_id)].cpu.vendor == "AMD" else 8.0):
        problems.append(f"configuration version {vm.version} too old to nest")
    if len([c for c in children if lab[c].workload == "heavy"]) > 1:
        problems.append("noisy neighbours")
    return problems


def platform_problems(lab: Lab, owner: str) -> list[str]:
    p = lab.platform(owner)
    problems = []
    s = p.security
    if (s.vbs != "not-enabled" or s.credential_guard or s.device_guard or s.group_policy_vbs
            or s.blocking_software or s.registry.EnableVirtualizationBasedSecurity is not None
            or s.registry.RequirePlatformSecurityFeatures is not None):
        problems.append("security feature blocks nesting")
    if p.services.winnat != "running" or p.hypervisor_launch != "auto" or not p.integration_services_current:
        problems.append("winnat / hypervisor launch / integration services")
    if p.files_missing or p.files_corrupt:
        problems.append("missing or corrupt files")
    if any(rule.action == "block" or not rule.enabled for rule in p.firewall):
        problems.append("a firewall rule blocks")
    nats = lab.owned(owner, "nat")
    if len(nats) > 1:
        problems.append("more than one NAT")
    for sid in lab.owned(owner, "switch"):
        switch = lab[sid]
        if switch.type == "Private":
            problems.append("private switch")
        if switch.type == "Internal":
            served = [n for n in nats if ipaddress.ip_interface(switch.host_ip).ip
                      in ipaddress.ip_network(lab[n].internal_prefix)]
            if not served:
                problems.append(f"Internal switch {switch.name} has no NAT for its subnet")
    drives = {v.drive: v.media for v in p.volumes}
    for vhd in lab.owned(owner, "vhd"):
        record = lab[vhd]
        if drives.get(record.path[:2]) != "ssd":
            problems.append(f"{record.path} not on an SSD volume")
        if record.type == "differencing" and not lab.out(vhd, Edge.PARENT):
            problems.append(f"{record.path} has no declared parent")
    return problems


def vm_problems(lab: Lab, vm_id: str) -> list[str]:
    vm: VM = lab[vm_id]
    problems = []
    if vm.processor.count < 2 or vm.memory.dynamic or vm.memory.pending_startup_gb is not None:
        problems.append("vCPU or memory setting")
    if vm.workload == "heavy" and (not lab.vms(vm_id) or vm.processor.count < 4):
        problems.append("heavy work on a plain or small VM")
    if vm.state == "Running" and lab.kind(lab.parent(vm_id)) == "vm" and lab[lab.parent(vm_id)].state != "Running":
        problems.append("running inside a stopped VM")
    for adapter in lab.adapters(vm_id):
        if lab[adapter].max_bandwidth_mbps:
            problems.append("bandwidth cap")
        if lab.switch_of(adapter) is None:
            problems.append("adapter not connected")
    return problems


def forwarded(lab: Lab, owner: str, ip: str, port: int) -> bool:
    """Whether ip:port inside `owner` is forwarded outward, NAT by NAT, each port allowed in."""
    platform = lab.platform(owner)
    listens = [r.listen_port for r in platform.portproxy if (r.connect_address, r.connect_port) == (ip, port)]
    for nat in lab.owned(owner, "nat"):
        listens += [m.external_port for m in lab[nat].static_mappings if (m.internal_ip, m.internal_port) == (ip, port)]
    allowed = {r.port for r in platform.firewall if r.direction == "inbound" and r.action == "allow" and r.protocol == "TCP"}
    for listen in listens:
        if listen not in allowed:
            continue
        if lab.kind(owner) == "host":
            return True
        (adapter,) = lab.adapters(owner)
        if lab[lab.switch_of(adapter)].type == "External":
            return True
        if forwarded(lab, lab.parent(owner), ip_of(lab[adapter].ip), listen):
            return True
    return False


def service_problems(lab: Lab, vm_id: str) -> list[str]:
    problems = []
    (adapter,) = lab.adapters(vm_id)
    if lab[lab.switch_of(adapter)].type != "Internal":
        return problems
    for service in lab[vm_id].services:
        if service.protocol != "TCP" or not forwarded(lab, lab.parent(vm_id), ip_of(lab[adapter].ip), service.port):
            problems.append(f"{service.protocol}/{service.port} not reachable from outside")
    return problems


def nat_overlaps(lab: Lab) -> list[str]:
    problems = []
    for host in lab.hosts():
        owners = [host] + lab.vms(host, recursive=True)
        prefixes = [ipaddress.ip_network(lab[n].internal_prefix) for o in owners for n in lab.owned(o, "nat")]
        for i, a in enumerate(prefixes):
            problems += [f"{a} overlaps {b}" for b in prefixes[i + 1:] if a.overlaps(b)]
    return problems


def health_problems(lab: Lab) -> list[str]:
    problems = nat_overlaps(lab)
    for host in lab.hosts():
        problems += [f"{host}: {p}" for p in host_problems(lab, host) + platform_problems(lab, host)]
    for vm in lab.all_vms():
        problems += [f"{vm}: {p}" for p in vm_problems(lab, vm) + service_problems(lab, vm)]
    for vm in nested_hosts(lab):
        problems += [f"{vm}: {p}" for p in nested_host_problems(lab, vm) + platform_problems(lab, vm)]
    return problems


@SETTINGS
@given(args=lab_args())
def test_generated_labs_are_healthy(args):
    assert health_problems(generate(**args)) == []


def public_endpoint(lab: Lab, vm: str, port: int) -> tuple[str, str, int]:
    """(LAN network node, address, port) a client uses for a service, following the forwards up."""
    (adapter,) = lab.adapters(vm)
    address, node = ip_of(lab[adapter].ip), vm
    while True:
        path = lab.path_to_lan(node)
        if lab.kind(node) == "host" or (path and lab[lab.switch_of(lab.adapters(node)[0])].type == "External"):
            network = lan_of(lab, node) if lab.kind(node) == "host" else path[-1]
            return network, address, port
        owner = lab.parent(node)
        platform = lab.platform(owner)
        listens = [r.listen_port for r in platform.portproxy if (r.connect_address, r.connect_port) == (address, port)]
        listens += [m.external_port for n in lab.owned(owner, "nat") for m in lab[n].static_mappings
                    if (m.internal_ip, m.internal_port) == (address, port)]
        assert listens, f"{vm}: {address}:{port} is not forwarded on {owner}"
        port = listens[0]
        node = owner
        address = ip_of(lab[lab.owned(owner, "nic")[0]].ip) if lab.kind(owner) == "host" else ip_of(lab[lab.adapters(owner)[0]].ip)


@settings(max_examples=25, deadline=None)
@given(args=lab_args())
def test_simulated_network_delivers_every_service_and_reaches_the_lan(args):
    """By the simulator's own reachability rules: each running VM gets out, each service gets in."""
    from nestlab.simulator import behaviour, network

    lab = generate(**args)
    for vm in lab.all_vms():
        if not behaviour.is_running(lab, vm):
            continue
        out = network.trace(lab, vm, lan_of(lab, lab.root_host(vm)), 443)
        assert out.delivered, str(out)
        for service in lab[vm].services:
            source, address, port = public_endpoint(lab, vm, service.port)
            inbound = network.trace(lab, source, address, port, service.protocol)
            assert inbound.delivered, str(inbound)


@settings(max_examples=25, deadline=None)
@given(args=lab_args())
def test_simulated_performance_blames_nothing(args):
    from nestlab.simulator import behaviour, performance

    lab = generate(**args)
    for vm in lab.all_vms():
        if behaviour.is_running(lab, vm):
            assert performance.measure(lab, vm).factors == (), vm


def test_the_health_check_sees_a_broken_lab():
    """The checks above can fail: break one thing of each kind and they say so."""
    lab = generate(seed=11, depth=3, vms_per_host=6)
    l1 = nested_hosts(lab)[0]
    lab.update(l1, processor=lab[l1].processor.__class__(count=4, expose_virtualization_extensions=False))
    (host,) = lab.hosts()
    lab.update_platform(host, services=lab[host].services.__class__(winnat="locked"))
    problems = health_problems(lab)
    assert any("extensions not exposed" in p for p in problems)
    assert any("winnat" in p for p in problems)


def test_generated_labs_mix_nat_bridged_checkpoints_azure_and_forwards():
    """Over a handful of seeds, every feature the generator promises shows up."""
    seen = Counter()
    for seed in range(40):
        lab = generate(seed=seed, hosts=2, depth=3)
        for sid in lab.nodes("switch"):
            seen[lab[sid].type] += 1
        seen["azure"] += sum(lab[h].kind == "azure-vm" for h in lab.hosts())
        seen["checkpoint"] += sum(lab[v].type == "differencing" for v in lab.nodes("vhd"))
        seen["portproxy"] += sum(len(lab.platform(o).portproxy) for o in lab.hosts() + lab.all_vms())
        seen["bridged nested host"] += sum(
            any(lab[s].type == "External" for s in lab.owned(vm, "switch")) for vm in nested_hosts(lab)
        )
        seen["cluster path"] += sum(lab[v].path.startswith("C:\\ClusterStorage\\Volume1\\") for v in lab.nodes("vhd"))
    for feature in ("External", "Internal", "azure", "checkpoint", "portproxy", "bridged nested host", "cluster path"):
        assert seen[feature] > 0, feature


def test_host_names_follow_site_role_pattern():
    lab = generate(seed=3, hosts=12, depth=1)
    assert all(re.fullmatch(r"[A-Z0-9]{3,4}-(HV|HVC|AZHV)\d{2}", h) for h in lab.hosts())


# ----------------------------------------------------------------------------------------------
# Bad arguments
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hosts": 0}, "--hosts: must be between 1 and"),
        ({"depth": 0}, "--depth: must be between 1 and"),
        ({"seed": -1}, "--seed: must be between 0 and"),
        ({"depth": "2"}, "--depth: must be an integer (got '2')"),
        ({"hosts": True}, "--hosts: must be an integer (got True)"),
        ({"depth": 3, "vms_per_host": 2}, "--vms: a chain 3 levels deep needs at least 3 VMs per host (got 2)"),
        ({"name": " "}, "--name: must be a non-empty string"),
        ({"hosts": 1000, "vms_per_host": 1000}, "--hosts x --vms: at most"),
    ],
)
def test_bad_arguments_are_refused_with_one_clear_line(kwargs, message):
    with pytest.raises(BadInput) as excinfo:
        generate(**kwargs)
    assert str(excinfo.value).startswith(message)
    assert "\n" not in str(excinfo.value)


def test_generate_is_keyword_only():
    with pytest.raises(TypeError):
        generate(1)  # type: ignore[misc]


def test_negative_faults_are_refused():
    with pytest.raises(BadInput, match="--faults: must be between 0"):
        generate_with_faults(faults=-1)


def test_zero_faults_is_the_healthy_lab():
    lab, injected = generate_with_faults(faults=0, seed=9)
    assert injected == [] and dumps(lab) == dumps(generate(seed=9))


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(cli, ["generate", *args])


def test_cli_prints_the_lab_to_stdout():
    result = run("--seed", "4", "--hosts", "2", "--depth", "3", "--vms", "5")
    assert result.exit_code == 0, result.output
    assert result.output == dumps(generate(seed=4, hosts=2, depth=3, vms_per_host=5, world="realistic"))


def test_cli_writes_the_file_and_json_ground_truth(tmp_path):
    out = tmp_path / "lab.yaml"
    result = run("--seed", "4", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"lab": str(out), "injected": []}
    assert out.read_text(encoding="utf-8") == dumps(generate(seed=4, world="realistic"))
    assert [p.name for p in tmp_path.iterdir()] == ["lab.yaml"]  # no temp file left behind


def test_cli_bad_argument_exits_2_with_one_line():
    result = run("--depth", "3", "--vms", "1")
    assert result.exit_code == 2
    assert "--vms: a chain 3 levels deep needs at least 3 VMs per host (got 1)" in result.output


def test_cli_faults_use_the_catalog_or_refuse(tmp_path):
    out = tmp_path / "broken.yaml"
    result = run("--seed", "2", "--faults", "1", "-o", str(out), "--json")
    if getattr(fault_catalog, "inject_random", None) is None:
        assert result.exit_code == 2
        assert "fault catalog" in result.output and "only --faults 0 works" in result.output
        assert not out.exists()
    else:
        assert result.exit_code == 0, result.output
        truth = json.loads(result.output)
        assert truth["lab"] == str(out) and len(truth["injected"]) == 1
        assert set(truth["injected"][0]) == {"root_cause", "subject"}
        text = out.read_text(encoding="utf-8")
        assert text != dumps(generate(seed=2))
        assert truth["injected"][0]["root_cause"] not in text
