"""Host method calls over PSRP: a script's Read-Host answered by the client's PSHost.

[MS-PSRP] 2.2.2.27 PIPELINE_HOST_CALL (0x00041100) asks the client's host to run a method — here
ReadLine (RemoteHostMethodId 11), what Read-Host calls — and the pipeline waits for the client's
2.2.2.28 PIPELINE_HOST_RESPONSE (0x00041101) with the same call id `ci` and the result `mr`.
A client says in CREATE_PIPELINE's HostInfo whether it has a host (`_isHostNull`); without one
the engine gets no host and Read-Host is PowerShell's NonInteractive error, as on Windows.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable
from xml.sax.saxutils import escape

PIPELINE_HOST_CALL = 0x00041100
PIPELINE_HOST_RESPONSE = 0x00041101
READ_LINE = 11
WAIT = 300.0  # seconds a pipeline waits for the person behind the client


def has_host(create_pipeline_body: Any) -> bool:
    """Whether CREATE_PIPELINE's HostInfo describes a real host (pypsrp: RunspacePool(host=PSHost …))."""
    info = create_pipeline_body.get("HostInfo") if hasattr(create_pipeline_body, "get") else None
    if not hasattr(info, "get"):
        return False
    return info.get("_isHostNull") is False


def call_body(call_id: int, method: str = "ReadLine", method_id: int = READ_LINE) -> str:
    return (f'<Obj RefId="0"><MS><I64 N="ci">{call_id}</I64>'
            f'<Obj N="mi" RefId="1"><TN RefId="0"><T>System.Management.Automation.Remoting.RemoteHostMethodId</T>'
            f'<T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>{escape(method)}</ToString>'
            f'<I32>{method_id}</I32></Obj>'
            f'<Obj N="mp" RefId="2"><TN RefId="1"><T>System.Collections.ArrayList</T><T>System.Object</T></TN><LST />'
            f'</Obj></MS></Obj>')


class PipelineHost:
    """The engine's HostUI for one served pipeline: each read_line is a host call the client answers.

    `send(call_id, body)` queues the PIPELINE_HOST_CALL (under the server's lock); `changed` is the
    server's condition, notified when `answer` stores a response.
    """

    def __init__(self, changed: threading.Condition, send: Callable[[int, str], None], *, wait: float = WAIT) -> None:
        self.changed = changed
        self.send = send
        self.wait = wait
        self.answers: dict[int, Any] = {}
        self.next_call = 1

    def read_line(self, prompt: str) -> str | None:
        with self.changed:
            call_id = self.next_call
            self.next_call += 1
            self.send(call_id, call_body(call_id))
            self.changed.notify_all()
            deadline = time.monotonic() + self.wait
            while call_id not in self.answers:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.changed.wait(remaining)
            answer = self.answers.pop(call_id)
        return None if answer is None else str(answer)

    def answer(self, body: Any) -> None:
        """A PIPELINE_HOST_RESPONSE (the caller holds the lock and notifies)."""
        if hasattr(body, "get") and body.get("ci") is not None:
            self.answers[int(body.get("ci"))] = body.get("mr")

    def write(self, text: str) -> None:  # Write-Host travels as information records, not host calls
        return None
