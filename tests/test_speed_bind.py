"""`bind` binds each command once (issue 17): a collection sends the same Command objects tens of
thousands of times. The binding is kept with its command, so an equal or a new command is bound
on its own, an unknown parameter still fails every time, and each call gets its own named values."""

from __future__ import annotations

import pytest

from nestlab.simulator.cmdlets import TABLE, base
from nestlab.simulator.cmdlets.base import Terminating, bind
from nestlab.simulator.psdata import Command


def test_a_command_is_bound_once_and_each_call_gets_its_own_values(monkeypatch):
    entry = TABLE["get-vhd"]
    command = Command.of("Get-VHD", "C:\\a.vhdx")
    bound = []
    real = base._bind_names
    monkeypatch.setattr(base, "_bind_names", lambda e, c: (bound.append(c), real(e, c))[1])
    first, second = bind(entry, command, []), bind(entry, command, ["in"])
    assert bound == [command]
    assert first.named == second.named == real(entry, command)[0] and first.named is not second.named
    assert second.input == ["in"] and first.input == []
    first.named["__errors__"] = []  # a cmdlet adds to its call's values (cmdlets.network): not to the next call's
    assert "__errors__" not in bind(entry, command, []).named
    other = Command.of("Get-VHD", Path="C:\\b.vhdx")  # another command (even an equal one) binds anew
    assert bind(entry, other, []).named == {"path": "C:\\b.vhdx"} and bound == [command, other]


def test_an_unknown_parameter_fails_each_time_it_is_bound():
    entry = TABLE["get-vmprocessor"]
    command = Command.of("Get-VMProcessor", Bogus=1)
    for _ in range(2):
        with pytest.raises(Terminating, match="Bogus"):
            bind(entry, command, [])


def test_the_bindings_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(base, "_BINDINGS_KEPT", 3)
    entry = TABLE["test-path"]
    for i in range(10):
        bind(entry, Command.of("Test-Path", Path=f"C:\\{i}"), [])
    assert len(base._bindings(entry)) <= 3
