"""What the client tests share: a served lab, its account, and each client made the way a user makes it.

`served_subprocess` runs `nestlab serve LAB --host H --port 0` (the CLI a user runs) and yields
where it listens; `served_in_process` is a LabServer in this process (when a test needs the
lab object too). `pypsrp_client`, `wsman` and `pywinrm_session` open the Python clients with
Windows' defaults (Negotiate/NTLM with message encryption) or Basic when asked; `Ansible` writes
an inventory and ansible.cfg into a folder and runs ad-hoc `ansible` there, with the password
only in the environment (the inventory reads it with `lookup('env', …)`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from nestlab.simulator import labfile
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import LabServer
from nestlab.simulator.endpoint.testing import PASSWORD, USER

BIN = Path(sys.executable).parent
ANSIBLE = BIN / "ansible"

# Ansible's two Windows connections, each with what a Windows host asks for by default
WINRM_NTLM = {"ansible_connection": "winrm", "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "http"}
PSRP_NEGOTIATE = {"ansible_connection": "psrp", "ansible_psrp_protocol": "http", "ansible_psrp_ignore_proxy": True}
WINRM_BASIC = {"ansible_connection": "winrm", "ansible_winrm_transport": "basic", "ansible_winrm_scheme": "http"}
PSRP_BASIC = {**PSRP_NEGOTIATE, "ansible_psrp_auth": "basic", "ansible_psrp_message_encryption": "never"}


@dataclass(frozen=True)
class Served:
    """A served host: where it listens and the account it takes."""

    port: int
    url: str
    user: str = USER
    password: str = PASSWORD
    host: str = "127.0.0.1"


@contextmanager
def served_subprocess(lab: str = "builtin:reference", host: str = "HV01", *, user: str = USER,
                      password: str = PASSWORD) -> Iterator[Served]:
    """`nestlab serve LAB --host HOST --port 0`, credentials in its environment, stopped afterwards."""
    env = {**os.environ, "NESTLAB_USER": user, "NESTLAB_PASSWORD": password}
    process = subprocess.Popen([str(BIN / "nestlab"), "serve", lab, "--port", "0", "--host", host],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith(f"{host} http://127.0.0.1:"), process.stderr.read()
        url = line.split()[1]
        yield Served(int(url.rsplit(":", 1)[1].split("/")[0]), url, user, password)
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def served_in_process(lab: Any = "builtin:reference", host: str = "HV01", *, user: str = USER,
                      password: str = PASSWORD) -> Iterator[Served]:
    model = labfile.load(lab) if isinstance(lab, str) else lab
    with LabServer(model, Credentials(user, password), hosts=[host]) as server:
        port = server.servers[host].port
        yield Served(port, f"http://127.0.0.1:{port}/wsman", user, password)


def pypsrp_client(served: Served, *, basic: bool = False):
    """pypsrp's Client: its defaults (Negotiate, encryption auto), or Basic without encryption."""
    from pypsrp.client import Client

    extra = {"auth": "basic", "encryption": "never"} if basic else {}
    return Client(served.host, port=served.port, username=served.user, password=served.password, ssl=False,
                  no_proxy=True, **extra)


def wsman(served: Served, *, basic: bool = False):
    from pypsrp.wsman import WSMan

    extra = {"auth": "basic", "encryption": "never"} if basic else {}
    return WSMan(served.host, port=served.port, username=served.user, password=served.password, ssl=False,
                 no_proxy=True, **extra)


def pywinrm_session(served: Served, transport: str = "ntlm"):
    import winrm

    return winrm.Session(served.url, auth=(served.user, served.password), transport=transport)


class Ansible:
    """Ad-hoc `ansible` in `folder` against an inventory of groups {group: ({host: vars}, group vars)}."""

    def __init__(self, folder: Path, groups: dict[str, tuple[dict[str, dict[str, Any]], dict[str, Any]]], *,
                 user: str = USER, password: str = PASSWORD, library: Path | None = None, timeout: int = 180) -> None:
        self.folder = folder
        self.inventory = folder / "hosts.yml"
        self.timeout = timeout
        lines = ["all:", "  vars:", f"    ansible_user: {user}",
                 "    ansible_password: \"{{ lookup('env', 'NESTLAB_PASSWORD') }}\"", "  children:"]
        for group, (hosts, group_vars) in groups.items():
            lines += [f"    {group}:", "      hosts:"]
            lines += [f"        {name}: {_flow(host_vars)}" for name, host_vars in hosts.items()]
            lines.append(f"      vars: {_flow(group_vars)}")
        self.inventory.write_text("\n".join(lines) + "\n")
        (folder / "ansible.cfg").write_text("[defaults]\n")
        self.env = {**os.environ, "ANSIBLE_CONFIG": str(folder / "ansible.cfg"), "ANSIBLE_HOME": str(folder / "home"),
                    "ANSIBLE_LOCAL_TEMP": str(folder / "tmp"), "ANSIBLE_NOCOLOR": "1", "LC_ALL": "C.UTF-8",
                    "NESTLAB_PASSWORD": password}
        if library is not None:
            self.env["ANSIBLE_LIBRARY"] = str(library)

    def __call__(self, pattern: str, module: str, args: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([str(ANSIBLE), "-i", str(self.inventory), pattern, "-m", module, "-a", args],
                              env=self.env, capture_output=True, text=True, timeout=self.timeout, cwd=self.folder)


def served_groups(served: Served, connections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One group per connection, each with one host `NAME` at the served port."""
    return {f"over_{name.split('-')[-1]}": ({name: {}}, {"ansible_host": served.host, "ansible_port": served.port,
                                                         **vars_})
            for name, vars_ in connections.items()}


def _flow(mapping: dict[str, Any]) -> str:
    """A YAML flow mapping of plain values."""
    def value(v: Any) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)
    return "{" + ", ".join(f"{k}: {value(v)}" for k, v in mapping.items()) + "}"


def script_module(library: Path) -> Path:
    """A module written as win_ping is (ansible.windows is a collection, not part of ansible-core): it
    loads the Ansible.Basic C# module util, which Ansible's exec wrapper compiles with Add-Type."""
    library.mkdir(parents=True, exist_ok=True)
    (library / "csharp_probe.ps1").write_text(
        "#!powershell\n#AnsibleRequires -CSharpUtil Ansible.Basic\n"
        "$module = [Ansible.Basic.AnsibleModule]::Create($args, @{})\n$module.Result.ping = 'pong'\n$module.ExitJson()\n")
    return library
