"""Automatic variables and the .NET objects of a simulated session.

$PSVersionTable has Windows PowerShell 5.1's Desktop shape (PSVersion 5.1.<build>, PSEdition
Desktop, CLRVersion 4.0.30319.42000 …); $Host is what a remote session's host is
(System.Management.Automation.Internal.Host.InternalHost named "ServerRemoteHost"), whose RawUI
ReadKey is not implemented remotely; the session's user is an administrator (remoting endpoints
admit only administrators by default), so WindowsPrincipal.IsInRole(Administrator) is True.
"""

from __future__ import annotations

from typing import Any, Callable

from nestlab.simulator.psdata import PSEnum
from nestlab.simulator.pwsh.errors import runtime
from nestlab.simulator.pwsh.values import DotNet, Hashtable, to_str


def version(text: str) -> DotNet:
    parts = [int(p) for p in text.split(".")]
    names = ("Major", "Minor", "Build", "Revision")
    return DotNet("System.Version", {n: (parts[i] if i < len(parts) else -1) for i, n in enumerate(names)}, text=text)


def ps_version_table(build: int) -> Hashtable:
    return Hashtable([
        ("PSVersion", version(f"5.1.{build}.1")), ("PSEdition", "Desktop"),
        ("PSCompatibleVersions", [version(v) for v in ("1.0", "2.0", "3.0", "4.0", "5.0", f"5.1.{build}.1")]),
        ("BuildVersion", version(f"10.0.{build}.1")), ("CLRVersion", version("4.0.30319.42000")),
        ("WSManStackVersion", version("3.0")), ("PSRemotingProtocolVersion", version("2.3")),
        ("SerializationVersion", version("1.1.0.1")),
    ])


def not_implemented(method: str, count: int) -> Callable[..., Any]:
    def fail(*_args: Any) -> Any:
        raise runtime(f'Exception calling "{method}" with "{count}" argument(s): "The method or operation is not '
                      'implemented."', "NotImplementedException", "NotSpecified")
    return fail


def host(read_line: Callable[[str], str] | None, write: Callable[[str], None]) -> DotNet:
    raw = DotNet("System.Management.Automation.Internal.Host.InternalHostRawUserInterface", {
        "WindowTitle": "", "ForegroundColor": -1, "BackgroundColor": -1, "BufferSize": None, "WindowSize": None,
        "CursorPosition": None, "KeyAvailable": False,
    }, {"ReadKey": not_implemented("ReadKey", 1), "FlushInputBuffer": not_implemented("FlushInputBuffer", 0)},
        settable=frozenset({"WindowTitle", "ForegroundColor", "BackgroundColor"}))

    def read(*_args: Any) -> str:
        if read_line is None:
            raise _non_interactive()
        return read_line("")

    ui = DotNet("System.Management.Automation.Internal.Host.InternalHostUserInterface", {"RawUI": raw},
                {"ReadLine": read, "WriteLine": lambda *a: write(" ".join(to_str(x) for x in a)),
                 "Write": lambda *a: write(" ".join(to_str(x) for x in a))})
    return DotNet("System.Management.Automation.Internal.Host.InternalHost", {
        "Name": "ServerRemoteHost", "Version": version("1.0.0.0"), "UI": ui,
        "InstanceId": "00000000-0000-0000-0000-000000000000", "CurrentCulture": "en-US", "CurrentUICulture": "en-US",
    }, text="System.Management.Automation.Internal.Host.InternalHost")


def _non_interactive():
    return runtime("Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.",
                   "InvalidOperation", "InvalidOperation")


def identity(user: str) -> DotNet:
    return DotNet("System.Security.Principal.WindowsIdentity", {
        "Name": user, "AuthenticationType": "Kerberos", "IsAuthenticated": True, "IsSystem": False,
        "IsAnonymous": False, "ImpersonationLevel": "Impersonation"}, text="System.Security.Principal.WindowsIdentity")


def principal(ident: Any, admin: bool) -> DotNet:
    def is_in_role(role: Any) -> bool:
        name = role.name if isinstance(role, PSEnum) else to_str(role)
        low = name.lower().rsplit("\\", 1)[-1]
        if low in ("administrator", "administrators", "544"):
            return admin
        return low in ("user", "users", "545")
    return DotNet("System.Security.Principal.WindowsPrincipal", {"Identity": ident}, {"IsInRole": is_in_role},
                  text="System.Security.Principal.WindowsPrincipal")


def environment(computer: str, user: str) -> Hashtable:
    return Hashtable([
        ("COMPUTERNAME", computer.upper()), ("USERNAME", user.rsplit("\\", 1)[-1]), ("USERDOMAIN", computer.upper()),
        ("OS", "Windows_NT"), ("PROCESSOR_ARCHITECTURE", "AMD64"), ("SystemRoot", "C:\\Windows"),
        ("windir", "C:\\Windows"), ("SystemDrive", "C:"), ("ProgramFiles", "C:\\Program Files"),
        ("ProgramData", "C:\\ProgramData"), ("TEMP", "C:\\Windows\\TEMP"), ("TMP", "C:\\Windows\\TEMP"),
        ("USERPROFILE", f"C:\\Users\\{user.rsplit(chr(92), 1)[-1]}"), ("PSModulePath",
         "C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules"), ("NUMBER_OF_PROCESSORS", "8"),
        ("PATHEXT", ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC;.CPL"),
        ("Path", "C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\"),
    ])
