"""`nestlab serve LAB`: every host of a simulated lab as a WS-Management/PSRP endpoint."""

from __future__ import annotations

import os
import signal
import threading

import click

from nestlab.simulator.errors import BadInput
from nestlab.lab.completion import complete_lab

from nestlab.lab.serve_env import PASSWORD_ENV, USER_ENV  # noqa: F401  (re-exported: `serve.PASSWORD_ENV`)


@click.command(name="serve")
@click.argument("lab_target", metavar="LAB", shell_complete=complete_lab)
@click.option("--port", type=click.IntRange(0, 65535), default=5985, show_default=True, help="Port of the first host; the next hosts take the ports after it (0: any free port).")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--tls", is_flag=True, help="Serve https with a self-signed certificate made at start.")
@click.option("--user", default="nestlab", show_default=True, envvar=USER_ENV, help=f"The account clients log in with (also ${USER_ENV}; its password: ${PASSWORD_ENV}).")
@click.option("--host", "only", multiple=True, metavar="NAME", help="Serve only this host of the lab (repeatable); the default is every host.")
@click.option("--latency", type=click.FloatRange(0, 60_000), default=0, metavar="MS", help="Delay every request by MS milliseconds, as a host across a WAN answers.")
@click.option("--max-shells-per-user", type=click.IntRange(1, 10_000), default=30, show_default=True, metavar="N",
              help="WinRM's MaxShellsPerUser quota (winrm/config/winrs), counting PSRP pools and cmd shells.")
@click.option("--guest-credential-required", is_flag=True,
              help="Refuse PowerShell Direct (Invoke-Command -VMName) without -Credential, as Windows does; "
                   "the guests accept --user and its password.")
def command(lab_target: str, port: int, bind: str, tls: bool, user: str, only: tuple[str, ...], latency: float,
            max_shells_per_user: int, guest_credential_required: bool = False) -> None:
    """Serve each host of LAB as a Hyper-V host would answer pypsrp, pywinrm or Ansible.

    Clients authenticate as with Windows: Negotiate/NTLM (pypsrp's and pywinrm's
    defaults, with WinRM message encryption over http) or HTTP Basic (pypsrp:
    auth='basic', and over http encryption='never'); a wrong password gets HTTP 401,
    and repeated wrong passwords from one address are answered ever more slowly.
    State changes made through the endpoints change the served lab (in memory; the
    file is not written). Stop with Ctrl-C or SIGTERM. Limits and what is logged:
    docs/security.md.

    \b
    Examples:
      NESTLAB_PASSWORD=secret nestlab serve builtin:reference
      NESTLAB_PASSWORD=secret nestlab serve lab.yaml --port 15985 --tls
      NESTLAB_PASSWORD=secret nestlab serve lab.yaml --host HV02 --bind 0.0.0.0
      NESTLAB_PASSWORD=secret nestlab serve builtin:reference --latency 50
      NESTLAB_PASSWORD=secret nestlab serve builtin:reference --guest-credential-required
    """
    from nestlab.simulator import labfile
    from nestlab.simulator.endpoint.auth import Credentials
    from nestlab.simulator.endpoint.latency import add_latency
    from nestlab.simulator.endpoint.quotas import Quotas
    from nestlab.simulator.endpoint.server import LabServer
    from nestlab.lab.targets import parse_target

    password = os.environ.get(PASSWORD_ENV)
    if not password:
        raise BadInput(f"serve: set {PASSWORD_ENV} to the password clients must give for --user {user}")
    target = parse_target(lab_target)
    if target.kind not in ("lab", "builtin"):
        raise BadInput(f"{lab_target}: serve needs a lab file or builtin:NAME, not a {target.kind} target")
    lab = labfile.load(target.lab_path)
    unknown = [name for name in only if name not in lab.hosts()]
    if unknown:
        raise BadInput(f"{lab_target}: no host {unknown[0]!r} (hosts: {', '.join(lab.hosts())})")
    context, holder = _tls(bind) if tls else (None, None)
    main = threading.current_thread() is threading.main_thread()  # signals can only be set there
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if main else None  # SIGTERM stops as Ctrl-C does
    try:
        try:
            server = LabServer(lab, Credentials(user, password), bind=bind, port=port, tls=context, hosts=list(only) or None,
                               quotas=Quotas(max_shells_per_user=max_shells_per_user),
                               guest_credential_required=guest_credential_required)
        except OSError as exc:
            raise BadInput(f"serve: cannot listen on {bind}:{port}: {exc.strerror or exc}") from None
        add_latency(server, latency / 1000)
        try:  # a stop may come at any point from here on, even while the URLs are printed
            with server:
                for host, url in server.urls().items():
                    click.echo(f"{host} {url}")
                if holder is not None:
                    click.echo(f"certificate {holder.name}/cert.pem (self-signed)")
                threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        if holder is not None:
            holder.cleanup()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _tls(bind: str):
    from nestlab.simulator.endpoint import tls

    return tls.serving_certificate(bind)  # the private key is already gone from the disk
