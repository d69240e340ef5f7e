"""The realistic world: a healthy simulated host looks like a real one of its edition and build."""

from __future__ import annotations

from click.testing import CliRunner

from nestlab.lab.commands.generate import command as generate_command
from nestlab.simulator import powershell
from nestlab.simulator.generate import generate
from nestlab.simulator.labfile import dumps, loads


def run(lab, line, context):
    return powershell.run_line(lab, context, line)


def realistic(seed: int = 3):
    return generate(seed=seed, world="realistic")


def test_realistic_labs_have_ordinary_vms_of_every_kind():
    lab = realistic()
    host = lab.hosts()[0]
    vms = {lab[v].name: lab[v] for v in lab.vms(host)}
    assert any(n.startswith("DC") for n in vms) and any(n.startswith("FS") for n in vms)
    assert {v.state for n, v in vms.items() if n.startswith("LNX")} <= {"Off", "Saved"}
    assert any(v.memory.dynamic for v in vms.values())
    fs = next(v for v in lab.vms(host) if lab[v].name.startswith("FS"))
    assert [lab[lab.switch_of(a)].type for a in lab.adapters(fs)] == ["External", "Private"]
    assert any(lab[d].type == "differencing" for v in lab.vms(host) for d in lab.disks(v))


def test_every_windows_of_a_realistic_lab_has_its_background_and_minimal_none():
    lab = realistic()
    assert all(lab.platform(o).os.background == "realistic" for o in [*lab.hosts(), *lab.all_vms()]
               if lab.platform(o).os.build)
    minimal = generate(seed=3)
    assert all(minimal.platform(o).os.background == "minimal" for o in [*minimal.hosts(), *minimal.all_vms()])


def test_a_running_windows_guest_listens_on_the_system_ports():
    lab = realistic()
    nested = next(v for v in lab.all_vms() if lab[v].guest.hyperv_installed)
    ports = {c["LocalPort"] for c in run(lab, "Get-NetTCPConnection -State Listen", nested).output}
    assert {135, 139, 445, 5985, 47001, 49664, 49669} <= ports


def test_builtin_firewall_groups_by_edition():
    lab = realistic()
    host = lab.hosts()[0]
    rules = {r["Name"]: r for r in run(lab, "Get-NetFirewallRule", host).output}
    assert rules["FPS-SMB-In-TCP"]["DisplayName"] == "File and Printer Sharing (SMB-In)"
    assert rules["FPS-SMB-In-TCP"]["DisplayGroup"] == "File and Printer Sharing"
    assert rules["WINRM-HTTP-In-TCP"]["Enabled"] == "True"  # a server allows WinRM
    assert rules["RemoteDesktop-UserMode-In-TCP"]["Enabled"] == "False"
    assert run(lab, "Disable-NetFirewallRule -Name WINRM-HTTP-In-TCP", host).ok
    assert {r["Name"]: r for r in run(lab, "Get-NetFirewallRule", host).output}["WINRM-HTTP-In-TCP"]["Enabled"] == "False"
    assert [r.name for r in lab.platform(host).firewall if r.name.startswith("WINRM")] == ["WINRM-HTTP-In-TCP"]


def client_host_lab():
    text = """
lab: win11
hosts:
  - name: DESK01
    os: {caption: Microsoft Windows 11 Pro, build: 22631, background: realistic}
    networks:
      - {adapter: Wi-Fi, network: home, ip: 192.168.1.20/24, gateway: 192.168.1.1}
"""
    return loads(text)


def test_windows_11_has_the_default_switch_and_defender_and_a_server_has_no_security_center():
    lab = client_host_lab()
    (switch,) = run(lab, "Get-VMSwitch", "DESK01").output
    assert (switch["Name"], switch["SwitchType"]) == ("Default Switch", "Internal")
    assert switch["Id"] == "c08cb7b8-9b3c-408e-8e30-5e16a3aeb444"
    assert run(lab, "Get-NetNat", "DESK01").output == ()  # ICS, not WinNAT
    assert any(a["Name"] == "vEthernet (Default Switch)" for a in run(lab, "Get-NetAdapter", "DESK01").output)
    av = run(lab, "Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct", "DESK01").output
    assert [a["displayName"] for a in av] == ["Windows Defender"]
    server = realistic()
    error = run(server, "Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct",
                server.hosts()[0]).first_error()
    assert error.fully_qualified_error_id.startswith("HRESULT 0x8004100e")


def test_event_logs_hold_hundreds_of_routine_entries_before_the_last_50():
    lab = realistic()
    host = lab.hosts()[0]
    system = run(lab, "Get-WinEvent -LogName System", host).output
    assert len(system) >= 200
    last50 = run(lab, "Get-WinEvent -LogName System -MaxEvents 50", host).output
    assert len(last50) == 50 and {e["Id"] for e in last50} & {7036}
    assert not any(e["ProviderName"] == "Microsoft-Windows-Hyper-V-Hypervisor" for e in last50)  # older than boot noise
    worker = run(lab, "Get-WinEvent -LogName Microsoft-Windows-Hyper-V-Worker-Admin", host).output
    assert any(e["Id"] == 18500 for e in worker)


def test_nestlab_generate_defaults_to_the_realistic_world_and_minimal_is_one_option_away():
    default = CliRunner().invoke(generate_command, ["--seed", "3"])
    assert default.exit_code == 0 and "background: realistic" in default.output
    minimal = CliRunner().invoke(generate_command, ["--seed", "3", "--world", "minimal"])
    assert minimal.exit_code == 0 and minimal.output == dumps(generate(seed=3))
    assert "background" not in minimal.output


def test_a_kernel_driver_that_cannot_start_logs_7000_in_the_realistic_world(lab):
    from dataclasses import replace

    lab.update_platform("HV01/L1", services=replace(lab.platform("HV01/L1").services, winnat="locked"))
    minimal = {e["Id"] for e in run(lab, "Get-WinEvent -LogName System", "HV01/L1").output}
    lab.update_platform("HV01/L1", os=replace(lab.platform("HV01/L1").os, background="realistic"))
    events = run(lab, "Get-WinEvent -LogName System", "HV01/L1").output
    (failed,) = [e for e in events if e["Id"] in (7000, 7023)]
    assert (failed["Id"], failed["LevelDisplayName"]) == (7000, "Error")
    assert failed["Message"].startswith("The Windows NAT Driver service failed to start due to the following error:")
    assert 7023 in minimal  # the minimal world keeps what today's diagnosis reads (docs/fidelity.md)


def test_a_windows_10_client_listens_where_a_real_one_does():
    from pathlib import Path
    import re

    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "powershell" / "netstat-listening-windows10.txt"
    lines = fixture.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# source")
    real = {int(m.group(1)) for line in lines if (m := re.search(r"0\.0\.0\.0:(\d+)\s+0\.0\.0\.0:0\s+LISTENING", line))}
    lab = client_host_lab()
    from nestlab.simulator.cmdlets import background

    ours = {s.port for s in background.tcp_listeners(lab.platform("DESK01"))}
    assert real <= ours and ours - real <= {5040}  # CDPSvc (5040) listens on 0.0.0.0 on Windows 10 1803+
