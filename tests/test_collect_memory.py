"""A collection in process holds one host's answers at a time (issue 17): each host is rebuilt
into the evidence as soon as it is walked, so its answers are freed before the next host is
asked, and a 10,000-VM diagnosis peaks at the evidence plus one host's answers, not every host's."""

from __future__ import annotations

import weakref
from typing import Sequence

from nestlab.diagnosis.collect import collect
from nestlab.lab.session import SimSession
from nestlab.simulator import powershell
from nestlab.simulator.generate import generate
from nestlab.simulator.psdata import Result
from nestlab.simulator.session_protocol import Request


class WatchingSession(SimSession):
    """A SimSession that notes, when a host is asked for the first time, how many answers it gave
    to the hosts before are still alive (the collector pauses the cyclic GC: only references count)."""

    def __init__(self, lab) -> None:
        super().__init__(lab)
        self.given: dict[str, list[weakref.ref]] = {}
        self.alive_when_next_host_began: dict[str, int] = {}

    def send(self, requests: Sequence[Request]) -> list[Result]:
        host = requests[0].where.host
        if host not in self.given:
            self.alive_when_next_host_began[host] = sum(
                ref() is not None for refs in self.given.values() for ref in refs)
            self.given[host] = []
        results = super().send(requests)
        answers = [*results, *(g for r in results for _, g in r.guests)]
        # the one empty answer every pipeline that writes nothing shares is no host's to free
        self.given[host] += [weakref.ref(a) for a in answers if a is not powershell.NOTHING]
        return results


def test_a_host_answers_are_freed_before_the_next_host_is_asked():
    lab = generate(seed=5, hosts=3, depth=2, vms_per_host=8)
    session = WatchingSession(lab)
    evidence = collect(session, target=lab.name)
    assert len(session.given) == 3 and all(session.given.values())
    assert list(session.alive_when_next_host_began.values()) == [0, 0, 0]
    assert len(evidence.lab.hosts()) == 3
