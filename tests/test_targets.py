"""TARGET strings of spec/cli.md → the Session that reaches them; bad ones are one-line BadInput."""

from __future__ import annotations

import pytest

from nestlab.lab.psrp_session import PsrpSession
from nestlab.lab.session import SimSession
from nestlab.lab.targets import parse_psrp_url, parse_target, read_inventory
from nestlab.simulator.errors import BadInput


def test_builtin_lab_opens_a_sim_session():
    target = parse_target("builtin:reference")
    assert target.kind == "builtin" and target.lab_path.name == "reference.yaml"
    session = target.open()
    assert isinstance(session, SimSession) and session.hosts()


def test_unknown_builtin_names_the_known_ones():
    with pytest.raises(BadInput, match=r"builtin:nope: no builtin lab 'nope' \(builtin labs: .*reference"):
        parse_target("builtin:nope")


def test_lab_file_path(tmp_path):
    lab = tmp_path / "lab.yaml"
    lab.write_text("name: x\n")
    assert parse_target(str(lab)).kind == "lab"
    with pytest.raises(BadInput, match="no such lab file"):
        parse_target(str(tmp_path / "missing.yaml"))


def test_psrp_defaults_are_https_negotiate_with_certificate_checks():
    address = parse_psrp_url("psrp://hv01.contoso.com")
    assert (address.server, address.transport, address.auth, address.cert_validation) == ("hv01.contoso.com", "https", "negotiate", True)
    assert address.effective_port == 5986 and address.user is None


def test_psrp_with_user_port_and_options():
    address = parse_psrp_url("psrp://CONTOSO%5Cadmin@10.0.0.5:15985?transport=http&auth=basic")
    assert (address.user, address.server, address.port, address.transport, address.auth) == ("CONTOSO\\admin", "10.0.0.5", 15985, "http", "basic")
    assert parse_psrp_url("psrp://h?transport=http").effective_port == 5985


def test_psrp_target_opens_a_psrp_session_without_connecting():
    session = parse_target("psrp://admin@hv01:5986?auth=ntlm").open()
    assert isinstance(session, PsrpSession) and session.hosts() == ["hv01"]


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("psrp://", "no host"),
        ("psrp://h:99999", "port"),
        ("psrp://h?auth=digest", "auth must be one of"),
        ("psrp://h?transport=ftp", "transport must be"),
        ("psrp://h?verify=no", "unknown option 'verify'"),
        ("psrp://h/wsman", "no path"),
        ("ssh://h", "unknown target scheme"),
        ("", "empty target"),
    ],
)
def test_bad_psrp_targets(text, complaint):
    with pytest.raises(BadInput, match=complaint) as caught:
        parse_target(text)
    assert "\n" not in str(caught.value)


def test_password_in_a_target_is_refused_without_echoing_it():
    with pytest.raises(BadInput) as caught:
        parse_target("psrp://admin:Hunter2secret@hv01")
    assert "Hunter2secret" not in str(caught.value) and "NESTLAB_PASSWORD" in str(caught.value)


def test_inventory_hosts(tmp_path):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "hosts:\n"
        "  - name: HV01\n    address: hv01.contoso.com\n    user: CONTOSO\\admin\n    vms: [L1]\n    destructive: false\n"
        "  - name: HV02\n    port: 15985\n    transport: http\n    auth: kerberos\n    cert_validation: false\n"
    )
    target = parse_target(f"inventory:{inventory}")
    first, second = target.addresses
    assert (first.name, first.server, first.user, first.transport) == ("HV01", "hv01.contoso.com", "CONTOSO\\admin", "https")
    assert (second.server, second.port, second.auth, second.cert_validation) == ("HV02", 15985, "kerberos", False)
    assert target.open().hosts() == ["HV01", "HV02"]


@pytest.mark.parametrize(
    "body, complaint",
    [
        ("hosts: []\n", "non-empty 'hosts:'"),
        ("hosts:\n  - address: x\n", r"hosts\[0\]: each host needs a 'name'"),
        ("hosts:\n  - name: a\n    port: nine\n", r"hosts\[0\]: port"),
        ("hosts:\n  - name: a\n    auth: digest\n", r"hosts\[0\]: .*auth"),
        ("hosts:\n  - name: a\n    password: x\n", "never goes in an inventory"),
        ("hosts: [\n", "not readable YAML"),
    ],
)
def test_bad_inventories(tmp_path, body, complaint):
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(body)
    with pytest.raises(BadInput, match=complaint):
        read_inventory(inventory)


def test_missing_inventory():
    with pytest.raises(BadInput, match="no such file"):
        parse_target("inventory:/nonexistent/inv.yaml")
