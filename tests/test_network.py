"""Reachability traces: every disposition is reachable from builtin:reference by one small edit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from nestlab.simulator import network, powershell
from nestlab.simulator.model import FirewallRule
from nestlab.simulator.network import Disposition

WEB = ("network:corp-lan", "10.20.0.50", 8080)  # LAN client -> L1 portproxy -> L2-web:80
WEB_OUT = ("HV01/L1/L2-web", "network:corp-lan", 443)  # L2-web behind WinNAT -> LAN
APP_OUT = ("HV01/L1/L2-app", "network:corp-lan", 443)  # L2-app bridged through L1's adapter


def ps(lab, line, context="HV01/L1"):
    result = powershell.run_line(lab, context, line)
    assert not result.failed, result.errors
    return result


def disposition(lab, flow):
    return network.trace(lab, *flow).disposition


@pytest.mark.parametrize("flow", [WEB, WEB_OUT, APP_OUT, ("network:corp-lan", "10.20.0.60", 443),
                                  ("HV01/L1", "192.168.200.10", 80), ("HV01", "10.20.0.50", 8080)])
def test_the_reference_lab_delivers(lab, flow):
    trace = network.trace(lab, *flow)
    assert trace.disposition is Disposition.DELIVERED, str(trace)


def _private(lab):
    ps(lab, "New-VMSwitch -Name Isolated -SwitchType Private")
    ps(lab, "Connect-VMNetworkAdapter -VMName L2-web -SwitchName Isolated")


def _internal_no_nat(lab):
    ps(lab, "Remove-NetNat -Name NestedNAT -Confirm:$false")


def _prefix_mismatch(lab):
    ps(lab, "Remove-NetNat -Name NestedNAT")
    ps(lab, "New-NetNat -Name NestedNAT -InternalIPInterfaceAddressPrefix 192.168.100.0/24")


def _spoofing_off(lab):
    ps(lab, "Set-VMNetworkAdapter -VMName L1 -MacAddressSpoofing Off", "HV01")


def _firewall(lab):
    ps(lab, "New-NetFirewallRule -DisplayName Block-8080 -Direction Inbound -Action Block -Protocol TCP -LocalPort 8080")


def _no_allow_rule(lab):
    ps(lab, "Remove-NetFirewallRule -Name Allow-Web-8080")


def _no_forward(lab):
    ps(lab, "netsh interface portproxy delete v4tov4 listenport=8080 listenaddress=10.20.0.50")


def _wrong_target(lab):
    ps(lab, "netsh interface portproxy add v4tov4 listenaddress=10.20.0.50 listenport=8080 "
            "connectaddress=192.168.200.99 connectport=80")


def _wrong_port(lab):
    ps(lab, "netsh interface portproxy add v4tov4 listenaddress=10.20.0.50 listenport=8080 "
            "connectaddress=192.168.200.10 connectport=8081")


def _winnat_locked(lab):
    lab.update_platform("HV01/L1", services=replace(lab.platform("HV01/L1").services, winnat="locked"))


def _two_nats(lab):
    ps(lab, "New-NetNat -Name Second -InternalIPInterfaceAddressPrefix 172.16.0.0/24")


def _no_listener(lab):
    lab.update("HV01/L1/L2-web", services=())


CASES = [
    (_private, WEB_OUT, Disposition.PRIVATE_SWITCH),
    (_internal_no_nat, WEB_OUT, Disposition.INTERNAL_NO_NAT),
    (_prefix_mismatch, WEB_OUT, Disposition.NAT_PREFIX_MISMATCH),
    (_spoofing_off, APP_OUT, Disposition.MAC_SPOOFING_DROPPED),
    (_spoofing_off, ("network:corp-lan", "10.20.0.60", 443), Disposition.MAC_SPOOFING_DROPPED),
    (_firewall, WEB, Disposition.FIREWALL_BLOCKED),
    (_no_allow_rule, WEB, Disposition.FIREWALL_BLOCKED),
    (_no_forward, WEB, Disposition.NO_FORWARD),
    (_wrong_target, WEB, Disposition.WRONG_FORWARD_TARGET),
    (_wrong_port, WEB, Disposition.WRONG_FORWARD_TARGET),
    (_winnat_locked, WEB_OUT, Disposition.WINNAT_DOWN),
    (_two_nats, WEB_OUT, Disposition.WINNAT_DOWN),
    (_no_listener, ("HV01/L1", "192.168.200.10", 80), Disposition.NO_LISTENER),
]


@pytest.mark.parametrize("edit,flow,expected", CASES, ids=[f"{c[0].__name__}->{c[2].value}" for c in CASES])
def test_each_disposition_is_reachable_by_a_small_edit(lab, edit, flow, expected):
    edit(lab)
    trace = network.trace(lab, *flow)
    assert trace.disposition is expected, str(trace)
    assert str(trace).endswith(f"=> {expected.value}")


def test_every_disposition_is_covered():
    assert {c[2] for c in CASES} == set(Disposition) - {Disposition.DELIVERED}


def test_static_mapping_is_an_alternative_to_portproxy(lab):
    _no_forward(lab)
    ps(lab, "Add-NetNatStaticMapping -NatName NestedNAT -Protocol TCP -ExternalIPAddress 0.0.0.0 -ExternalPort 8080 "
            "-InternalIPAddress 192.168.200.10 -InternalPort 80")
    assert disposition(lab, WEB) is Disposition.DELIVERED


def test_heals_restore_delivery(lab):
    _spoofing_off(lab)
    ps(lab, "Get-VMNetworkAdapter -VMName L1 | Set-VMNetworkAdapter -MacAddressSpoofing On", "HV01")
    _prefix_mismatch(lab)
    ps(lab, "Remove-NetNat -Name NestedNAT")
    ps(lab, "New-NetNat -Name NestedNAT -InternalIPInterfaceAddressPrefix 192.168.200.0/24")
    assert disposition(lab, APP_OUT) is Disposition.DELIVERED
    assert disposition(lab, WEB_OUT) is Disposition.DELIVERED


def test_overlapping_nat_is_refused_with_the_real_error(lab):
    result = powershell.run_line(lab, "HV01/L1", "New-NetNat -Name Other -InternalIPInterfaceAddressPrefix 192.168.0.0/16")
    assert result.failed
    error = result.first_error()
    assert (error.message, error.fully_qualified_error_id) == ("The parameter is incorrect.",
                                                               "Windows System Error 87,New-NetNat")


def test_test_netconnection_carries_the_trace(lab):
    _no_forward(lab)
    (result,) = ps(lab, "Test-NetConnection -ComputerName 10.20.0.50 -Port 8080", "HV01").output
    assert result["TcpTestSucceeded"] is False
    assert result["NestlabTrace"].endswith("=> no-forward")
    (ok,) = ps(lab, "Test-NetConnection -ComputerName 192.168.200.10 -Port 80").output
    assert ok["TcpTestSucceeded"] is True


def test_guest_services_show_as_listeners(lab):
    ports = [o["LocalPort"] for o in ps(lab, "Get-NetTCPConnection -State Listen", "HV01/L1/L2-web").output]
    assert ports == [80]
    assert 8080 in [o["LocalPort"] for o in ps(lab, "Get-NetTCPConnection -State Listen").output]


def test_outbound_block_rule_stops_traffic(lab):
    lab.update_platform("HV01/L1/L2-web", firewall=(FirewallRule(name="NoOut", direction="outbound", action="block",
                                                                  protocol="TCP", port=443),))
    assert disposition(lab, WEB_OUT) is Disposition.FIREWALL_BLOCKED


def test_off_vm_does_not_answer(lab):
    ps(lab, "Stop-VM -Name L2-web")
    trace = network.trace(lab, *WEB)
    assert trace.disposition is Disposition.NO_LISTENER and "L2-web is not running" in str(trace)
