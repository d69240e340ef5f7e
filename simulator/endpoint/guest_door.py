"""Whether a served host lets a PowerShell Direct call into its guest: the `-Credential` check.

On Windows, `Invoke-Command -VMName` needs the guest's credential: `-Credential` is mandatory in
the VMName parameter set (PowerShell-Docs, Invoke-Command syntax "VMName"). An interactive host
prompts for it ("PowerShell credential request", PowerShell/PowerShell#16215); a remote pipeline
without a host cannot, and the call fails as a missing mandatory parameter. A wrong credential
fails "The credential is invalid." (PSDirectException, InvalidArgument,
CreateRemoteRunspaceForVMFailed — a public Enter-PSSession -VMName capture; the Invoke-Command
variant of the id is RECONSTRUCTED by PowerShell's `<id>,<command type>` rule).

The served lab's guests accept the served account (the one Credentials the endpoint has). A
credential-less call is let in unless the server was asked to behave as Windows does
(`required=True`, `nestlab serve --guest-credential-required`): our own clients, scripts and
tests enter guests without one, and the in-process simulator has no door at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.psdata import ErrorRecord, PSObject


@dataclass(frozen=True)
class GuestDoor:
    credentials: Credentials | None = None  # the account every guest accepts; None: any credential
    required: bool = False  # a call without -Credential fails, as on Windows

    def check(self, credential: Any, *, given: bool) -> ErrorRecord | None:
        """None when the call may enter the guest; else the error Windows gives."""
        if not given or credential is None:
            return missing_credential() if self.required else None
        if self.credentials is None:
            return None
        user, password = _parts(credential)
        if _same_user(user, self.credentials.user) and password == self.credentials.password:
            return None
        return invalid_credential()


def _parts(credential: Any) -> tuple[str, str]:
    if isinstance(credential, PSObject):
        return str(credential.get("UserName") or ""), str(credential.get("Password") or "")
    return "", ""


def _same_user(given: str, expected: str) -> bool:
    """`HV01\\nestlab`, `.\\nestlab` and `nestlab` name the same local account."""
    return given.rsplit("\\", 1)[-1].lower() == expected.rsplit("\\", 1)[-1].lower()


def missing_credential() -> ErrorRecord:
    return _invoke_command_error("Cannot process command because of one or more missing mandatory parameters: Credential.",
                                 "MissingMandatoryParameter", "System.Management.Automation.ParameterBindingException")


def invalid_credential() -> ErrorRecord:
    return _invoke_command_error("The credential is invalid.", "CreateRemoteRunspaceForVMFailed",
                                 "System.Management.Automation.Remoting.PSDirectException")


def _invoke_command_error(message: str, error_id: str, exception_type: str) -> ErrorRecord:
    """Invoke-Command's own error: `<id>,<command type>`, InvalidArgument, the exception's short name."""
    return ErrorRecord(message, f"{error_id},Microsoft.PowerShell.Commands.InvokeCommandCommand", "InvalidArgument",
                       activity="Invoke-Command", reason=exception_type.rsplit(".", 1)[-1], exception_type=exception_type)
