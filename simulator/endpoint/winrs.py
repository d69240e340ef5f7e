"""The WinRS cmd shell (`…/windows/shell/cmd`): what pywinrm, Ansible's winrm connection and
`winrs.exe` talk to. MS-WSMV 3.1.4.1 (Create/Command/Receive/Send/Signal/Delete of a Text-based
Command Shell).

Every answer is shaped as the Windows recordings in pypsrp's test suite
(tests/tests_pypsrp/responses/test_winrs_*.yml, jborean93/pypsrp @ 42a34ed): CreateResponse is
`x:ResourceCreated` plus an `rsp:Shell` (ShellId, ResourceUri, Owner, ClientIP, IdleTimeOut,
streams, ShellRunTime, ShellInactivity); a ReceiveResponse carries `rsp:Stream Name="stdout|stderr"
CommandId=…` chunks, then on completion an empty `End="true"` stream for each and
`rsp:CommandState State=…/Done` with `rsp:ExitCode`; while running, `State=…/Running`; a
Receive with no output within OperationTimeout is the w:TimedOut fault (pywinrm retries it).

A command line is what WinRS runs: `rsp:Command` and the `rsp:Arguments` joined by spaces,
through `cmd.exe /c` unless WINRS_SKIP_CMD_SHELL is TRUE. `shellcommands.py` says what each
program prints.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from nestlab.simulator.endpoint import wsman
from nestlab.simulator.endpoint.quotas import Activity, Quotas
from nestlab.simulator.endpoint.shellcommands import Program, run_line
from nestlab.simulator.pwsh import Executor

CMD_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
SIGNAL_TERMINATE = wsman.SHELL + "signal/terminate"
SIGNAL_CTRL_C = wsman.SHELL + "signal/ctrl_c"
MAX_WAIT = 20.0  # as for PSRP: never hold a Receive past the client's read timeout
CHUNK = 64 * 1024  # bytes of one stream element before base64


@dataclass
class _Command:
    command_id: str
    line: str
    output: list[tuple[str, bytes]] = field(default_factory=list)  # (stream, data) in the order written
    stdin: bytearray = field(default_factory=bytearray)
    stdin_closed: bool = False
    exit_code: int | None = None  # set when the program ended
    stopped: bool = False  # ctrl_c or terminate: the worker's late output is dropped


@dataclass
class _Shell:
    shell_id: str
    owner: str
    client_ip: str
    codepage: int
    idle_timeout: str
    input_streams: str
    output_streams: str
    commands: dict[str, _Command] = field(default_factory=dict)


class CmdShells:
    """Every open cmd shell of one served host: `handle` maps a request of that resource to a response."""

    def __init__(self, host: str, execute: Executor, quotas: Quotas | None = None, activity: Activity | None = None) -> None:
        self.host = host
        self.execute = execute
        self.activity = activity or Activity(quotas or Quotas())
        self.shells: dict[str, _Shell] = {}
        self.changed = threading.Condition()

    @property
    def quotas(self) -> Quotas:
        """The endpoint's quotas (shared with its PSRP pools through `activity`)."""
        return self.activity.quotas

    def owns(self, request: wsman.Request) -> bool:
        """A request for the cmd resource, or for a shell this object opened."""
        return request.resource_uri.rstrip("/").lower() == CMD_URI or (request.shell_id or "").upper() in self.shells

    def operations(self) -> int:
        return sum(len(s.commands) for s in self.shells.values())

    def handle(self, request: wsman.Request, client_ip: str, user: str, *, open_shells: int = 0,
               open_operations: int = 0) -> tuple[int, bytes]:
        """`open_shells`/`open_operations`: the user's PSRP pools and pipelines, counted in the same quotas."""
        handler = {
            "Command": self._command, "Receive": self._receive, "Send": self._send,
            "Signal": self._signal, "Delete": self._delete,
        }.get(request.action)
        if handler is None and request.action != "Create":
            return 500, wsman.action_not_supported(request)
        try:
            if request.action == "Create":
                self.quotas.admit_shell(len(self.shells) + open_shells)
                return self._create(request, client_ip, user)
            if request.action == "Command":
                self.quotas.admit_operation(self.operations() + open_operations)
            return handler(request)
        except wsman.WSManFault as exc:
            return exc.status, exc.response(request)
        except _Unknown as exc:
            return 500, wsman.invalid_selectors(request, str(exc))

    def expire(self, shell_id: str, command_id: str | None) -> None:
        """Drop an idle shell (with its commands) or one idle command (IdleTimeout, quotas.py)."""
        with self.changed:
            shell = self.shells.get(shell_id)
            if shell is None:
                return
            if command_id is None:
                for command in shell.commands.values():
                    command.stopped = True
                del self.shells[shell_id]
            elif command_id in shell.commands:
                shell.commands.pop(command_id).stopped = True
            self.changed.notify_all()

    # -- operations -------------------------------------------------------------------------------

    def _create(self, request: wsman.Request, client_ip: str, user: str) -> tuple[int, bytes]:
        body = _required(request, "rsp:Shell", "Create of a cmd shell")
        shell_id = (body.get("ShellId") or str(uuid.uuid4())).upper()
        codepage = request.options.get("WINRS_CODEPAGE", "437")
        idle = (body.findtext("rsp:IdleTimeOut", "", wsman.NS) or "").strip()
        if idle:
            wsman.parse_duration(idle)
        shell = _Shell(
            shell_id=shell_id, owner=user, client_ip=client_ip,
            codepage=int(codepage) if codepage.isdigit() else 437,
            idle_timeout=idle or "PT7200.000S",
            input_streams=(body.findtext("rsp:InputStreams", "stdin", wsman.NS) or "stdin").strip(),
            output_streams=(body.findtext("rsp:OutputStreams", "stdout stderr", wsman.NS) or "stdout stderr").strip(),
        )
        with self.changed:
            self.shells[shell_id] = shell
        self.activity.touch(shell_id)
        if idle:
            self.activity.set_idle_timeout(shell_id, wsman.parse_duration(idle))
        x = wsman.xml_text
        created = (
            f"<x:ResourceCreated><a:Address>{x(request.to)}</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{CMD_URI}</w:ResourceURI><w:SelectorSet>"
            f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            f'</x:ResourceCreated><rsp:Shell xmlns:rsp="{wsman.NS["rsp"]}"><rsp:ShellId>{shell_id}</rsp:ShellId>'
            f"<rsp:ResourceUri>{CMD_URI}</rsp:ResourceUri><rsp:Owner>{x(user)}</rsp:Owner>"
            f"<rsp:ClientIP>{x(client_ip)}</rsp:ClientIP><rsp:IdleTimeOut>{x(shell.idle_timeout)}</rsp:IdleTimeOut>"
            f"<rsp:InputStreams>{x(shell.input_streams)}</rsp:InputStreams>"
            f"<rsp:OutputStreams>{x(shell.output_streams)}</rsp:OutputStreams>"
            "<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
            "</rsp:Shell>"
        )
        return 200, wsman.envelope(request, wsman.TRANSFER + "CreateResponse", created, activity=False)

    def _command(self, request: wsman.Request) -> tuple[int, bytes]:
        shell = self._shell(request)
        node = _required(request, "rsp:CommandLine", "Command")
        program = (node.findtext("rsp:Command", "", wsman.NS) or "").strip()
        arguments = [a.text or "" for a in node.iterfind("rsp:Arguments", wsman.NS)]
        line = " ".join(part for part in [program, *arguments] if part)
        skip_cmd = request.options.get("WINRS_SKIP_CMD_SHELL", "FALSE").upper() == "TRUE"
        command = _Command((node.get("CommandId") or str(uuid.uuid4())).upper(), line)
        with self.changed:
            shell.commands[command.command_id] = command
        self.activity.touch(shell.shell_id, command.command_id)
        threading.Thread(target=self._run, args=(shell, command, skip_cmd), name=f"winrs-{command.command_id}",
                         daemon=True).start()
        body = f"<rsp:CommandResponse><rsp:CommandId>{command.command_id}</rsp:CommandId></rsp:CommandResponse>"
        return 200, wsman.envelope(request, wsman.SHELL + "CommandResponse", body, activity=False)

    def _send(self, request: wsman.Request) -> tuple[int, bytes]:
        shell = self._shell(request)
        node = _required(request, "rsp:Send/rsp:Stream", "Send", shown="rsp:Stream")
        command = self._find(shell, node.get("CommandId"))
        data = wsman.b64decode(node.text, "rsp:Stream")
        with self.changed:
            command.stdin.extend(data)
            if (node.get("End") or "").lower() == "true":
                command.stdin_closed = True
            self.changed.notify_all()
        self.activity.touch(shell.shell_id, command.command_id)
        return 200, wsman.envelope(request, wsman.SHELL + "SendResponse", "<rsp:SendResponse/>", activity=False)

    def _receive(self, request: wsman.Request) -> tuple[int, bytes]:
        shell = self._shell(request)
        node = _element(request, "rsp:Receive/rsp:DesiredStream")
        if node is None or not node.get("CommandId"):
            # a Receive of the shell itself: the cmd plugin refuses it (test_winrs_fail_poll_process)
            raise wsman.WSManFault(
                wsman.INVALID_PARAMETER, "The parameter is incorrect. ", "w:InvalidParameter",
                detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidValue",
                message="The parameter is incorrect. ",
                message_xml='<f:ProviderFault provider="Shell cmd plugin" path="%systemroot%\\system32\\winrscmd.dll">'
                            "The parameter is incorrect. </f:ProviderFault>")
        command = self._find(shell, node.get("CommandId"))
        deadline = time.monotonic() + min(request.operation_timeout, MAX_WAIT)
        room = max(1024, (request.max_envelope_size - 4096) * 3 // 4)
        with self.changed:
            while not command.output and command.exit_code is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return 500, wsman.timed_out(request)
                self.changed.wait(remaining)
            streams = self._take(command, room)
            done = command.exit_code is not None and not command.output
        self.activity.touch(shell.shell_id, command.command_id)
        attr = f'CommandId="{command.command_id}"'
        parts = [f'<rsp:Stream Name="{name}" {attr}>{base64.b64encode(data).decode()}</rsp:Stream>' for name, data in streams]
        if done:
            parts += [f'<rsp:Stream Name="stdout" {attr} End="true"></rsp:Stream>',
                      f'<rsp:Stream Name="stderr" {attr} End="true"></rsp:Stream>',
                      f'<rsp:CommandState {attr} State="{wsman.COMMAND_DONE}"><rsp:ExitCode>{command.exit_code}'
                      "</rsp:ExitCode></rsp:CommandState>"]
        else:
            parts.append(f'<rsp:CommandState {attr} State="{wsman.COMMAND_RUNNING}"></rsp:CommandState>')
        body = f"<rsp:ReceiveResponse>{''.join(parts)}</rsp:ReceiveResponse>"
        return 200, wsman.envelope(request, wsman.SHELL + "ReceiveResponse", body, activity=False)

    def _signal(self, request: wsman.Request) -> tuple[int, bytes]:
        shell = self._shell(request)
        node = _required(request, "rsp:Signal", "Signal")
        code = (node.findtext("rsp:Code", "", wsman.NS) or "").strip().lower()
        command = self._find(shell, node.get("CommandId"))
        with self.changed:
            if code == SIGNAL_TERMINATE.lower():
                # terminate: the command and its unread output are gone (pywinrm's cleanup_command)
                command.stopped = True
                shell.commands.pop(command.command_id, None)
                self.activity.forget(shell.shell_id, command.command_id)
            elif code == SIGNAL_CTRL_C.lower() and command.exit_code is None:
                # cmd.exe's answer to Ctrl+C: the program ends with STATUS_CONTROL_C_EXIT
                command.stopped = True
                command.exit_code = -1073741510
            self.changed.notify_all()
        return 200, wsman.envelope(request, wsman.SHELL + "SignalResponse", "<rsp:SignalResponse/>", activity=False)

    def _delete(self, request: wsman.Request) -> tuple[int, bytes]:
        shell = self._shell(request)
        with self.changed:
            for command in shell.commands.values():
                command.stopped = True
            self.shells.pop(shell.shell_id, None)
            self.changed.notify_all()
        self.activity.forget(shell.shell_id)
        return 200, wsman.envelope(request, wsman.TRANSFER + "DeleteResponse", "", activity=False)

    # -- helpers ----------------------------------------------------------------------------------

    def _shell(self, request: wsman.Request) -> _Shell:
        shell = self.shells.get((request.shell_id or "").upper())
        if shell is None:
            raise _Unknown(
                f"The request for the Windows Remote Shell with ShellId {request.shell_id} failed because the shell was "
                "not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
                "exists on the server. Provide the correct ShellId or create a new shell and retry the operation. ")
        self.activity.touch(shell.shell_id)
        return shell

    def _find(self, shell: _Shell, command_id: str | None) -> _Command:
        command = shell.commands.get((command_id or "").upper())
        if command is None:
            raise _Unknown(
                "The Windows Remote Shell received a request to perform an operation on a command identifier that does "
                "not exist. Either the command has completed execution or the client specified an invalid command "
                "identifier. ")
        return command

    @staticmethod
    def _take(command: _Command, room: int) -> list[tuple[str, bytes]]:
        """Pending output in the order it was written, in chunks, while it fits `room` bytes of raw data."""
        taken: list[tuple[str, bytes]] = []
        while command.output and room > 0:
            name, data = command.output[0]
            size = min(len(data), CHUNK, room)
            taken.append((name, data[:size]))
            if size == len(data):
                command.output.pop(0)
            else:
                command.output[0] = (name, data[size:])
            room -= size
        return taken

    def _run(self, shell: _Shell, command: _Command, skip_cmd: bool) -> None:
        program = Program(self.host, shell.owner, shell.codepage, self.execute, self._writer(command),
                          self._reader(command))
        try:
            code = run_line(program, command.line, through_cmd=not skip_cmd)
        except Exception as exc:  # a simulator bug must still end the command, with a message
            program.write("stderr", f"The served simulator failed: {type(exc).__name__}: {exc}\r\n")
            code = 1
        with self.changed:
            if not command.stopped:
                command.exit_code = code
            self.changed.notify_all()

    def _writer(self, command: _Command):
        def write(stream: str, data: bytes) -> None:
            with self.changed:
                if not command.stopped and data:
                    command.output.append((stream, data))
                self.changed.notify_all()
        return write

    def _reader(self, command: _Command):
        def read_line() -> str | None:
            """The next line of stdin (without its end), or None once the client closed it."""
            with self.changed:
                while True:
                    if command.stopped:
                        return None
                    end = command.stdin.find(b"\n")
                    if end >= 0:
                        line = bytes(command.stdin[:end])
                        del command.stdin[: end + 1]
                        return line.rstrip(b"\r").decode("utf-8", "replace")
                    if command.stdin_closed:
                        if command.stdin:
                            rest = bytes(command.stdin)
                            command.stdin.clear()
                            return rest.decode("utf-8", "replace")
                        return None
                    self.changed.wait(1.0)
        return read_line


def _element(request: wsman.Request, path: str) -> Any:
    """The body's element at `path`, or None (also when the request has no body)."""
    return request.body.find(path, wsman.NS) if request.body is not None else None


def _required(request: wsman.Request, path: str, what: str, *, shown: str | None = None) -> Any:
    """The body's element at `path`; without it the request is malformed (WS-Man's schema fault)."""
    node = _element(request, path)
    if node is None:
        raise wsman.schema_error(f"{what} without {shown or path}")
    return node


class _Unknown(LookupError):
    pass
