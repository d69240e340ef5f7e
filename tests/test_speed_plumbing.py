"""The fixed cost of a pipeline, paid once (issue 17), and what each saving must not change.

`bind` binds each command once: a collection sends the same Command objects tens of thousands of
times. The binding is kept with its command, so an equal or a new command is bound on its own,
an unknown parameter still fails every time, and each call gets its own named values. Where a
pipeline may run, and a place's VMs by name, are indexes of the lab kept while it stands still:
any change of the lab is seen by the next pipeline."""

from __future__ import annotations

import pytest

from nestlab.simulator.cmdlets import TABLE, base
from nestlab.simulator.cmdlets.base import Terminating, bind
from nestlab.simulator import labfile, powershell
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
    entry = TABLE["test-path"]
    monkeypatch.setattr(base._bindings(entry), "bound", 3)
    for i in range(10):
        bind(entry, Command.of("Test-Path", Path=f"C:\\{i}"), [])
    assert len(base._bindings(entry)) <= 3


def test_a_guest_stopped_or_started_is_seen_by_the_next_pipeline():
    lab = labfile.load("builtin:reference")
    host = lab.hosts()[0]
    vm = next(v for v in lab.vms(host) if lab[v].state == "Running")
    name = lab[vm].name
    assert powershell.run(lab, vm, (Command.of("Get-CimInstance", ClassName="Win32_OperatingSystem"),)).ok
    assert powershell.run(lab, host, (Command.of("Stop-VM", Name=name, TurnOff=True),)).ok
    stopped = powershell.run(lab, vm, (Command.of("Get-CimInstance", ClassName="Win32_OperatingSystem"),))
    assert stopped.failed and stopped.errors[0].fully_qualified_error_id.startswith("InvalidVMState")
    assert powershell.run(lab, host, (Command.of("Start-VM", Name=name),)).ok
    assert powershell.run(lab, vm, (Command.of("Get-CimInstance", ClassName="Win32_OperatingSystem"),)).ok


def test_a_place_that_is_not_one_fails_every_time():
    lab = labfile.load("builtin:reference")
    for _ in range(2):
        with pytest.raises(Exception, match="no host or VM"):
            powershell.run(lab, "nowhere", (Command.of("Get-VM"),))


def test_a_renamed_vm_is_found_by_its_new_name_at_once():
    lab = labfile.load("builtin:reference")
    host = lab.hosts()[0]
    vm = lab.vms(host)[0]
    old = lab[vm].name
    named = lambda name: powershell.run(lab, host, (Command.of("Get-VM", Name=name),))  # noqa: E731
    assert [str(o["Name"]) for o in named(old).output] == [old]
    lab.update(vm, name="Renamed1")  # no Rename-VM in the simulator: a change of the record
    assert [str(o["Name"]) for o in named("Renamed1").output] == ["Renamed1"]
    assert [str(o["Name"]) for o in named("renamed*").output] == ["Renamed1"]
    assert not named(old).output and named(old).errors


def test_equal_read_prefixes_share_their_keys_and_tokens_are_never_reused(monkeypatch):
    """repeated_reads keys a prefix by a token worked out once per pipeline object: equal stages in
    another pipeline object get the same token, other stages (or a switch for the number 1) not,
    an unhashable value ends the keys, and a token is not handed out twice after the table is full."""
    from nestlab.simulator import repeated_reads

    def keys(*commands: Command) -> list[tuple]:
        return repeated_reads._prefix_keys("HV01", commands, [TABLE[c.name.lower()] for c in commands])

    drives = Command.of("Get-VMHardDiskDrive", VMName="*")
    one = keys(drives, Command.of("Get-VHD"))
    assert keys(Command.of("Get-VMHardDiskDrive", VMName="*"), Command.of("Get-VHD")) == one and len(one) == 2
    assert keys(Command.of("Get-VMHardDiskDrive", VMName="L1"))[0] != one[0]
    assert keys(Command.of("Select-Object", First=1))[0] != keys(Command.of("Select-Object", First=True))[0]
    assert len(keys(drives, Command.of("Where-Object", Property="Id", In=[1, 2]), Command.of("Get-VHD"))) == 1
    assert keys(Command.of("Get-VM")) == []
    monkeypatch.setattr(repeated_reads._TOKENS, "bound", 2)
    monkeypatch.setattr(repeated_reads._PLANS, "bound", 2)
    seen = {key for i in range(6) for key in keys(Command.of("Get-VHD", Path=f"C:\\{i}.vhdx"))}
    assert len(seen) == 6


def test_a_fan_out_enters_the_guests_a_client_would_see_running():
    """SimSession finds a fan-out's guests from Get-VM where it runs (as the host-side script
    does), without the wire copy: the same guests, in the same order, as the copied answer shows."""
    from nestlab.lab.session import SimSession
    from nestlab.simulator import clixml
    from nestlab.simulator.generate import generate
    from nestlab.simulator.model import NodeId
    from nestlab.simulator.session_protocol import RUNNING_GUESTS, running_guests

    lab = generate(seed=3, hosts=2, depth=3)
    host = lab.hosts()[0]
    stopped = next(vm for vm in lab.vms(host) if lab[vm].state == "Running")
    assert powershell.run(lab, host, (Command.of("Stop-VM", Name=lab[stopped].name, TurnOff=True),)).ok
    session = SimSession(lab)
    found = session._running_below(NodeId.of_host(host), 3)
    expected, level = [], [((), NodeId.of_host(host))]
    for _ in range(3):
        below = [((*path, name), place.child(name)) for path, place in level for name in
                 running_guests(clixml.wire_copy_result(powershell.run(lab, str(place), RUNNING_GUESTS)))]
        expected += below
        level = below
    assert found == expected and len(found) >= 2
    assert lab[stopped].name not in [path[0] for path, _ in found]


def test_the_guests_a_fan_out_enters_are_those_get_vm_shows_running():
    """running_guests_at reads the lab where Get-VM built objects: the same names, in the same
    order, at every place, whatever the VMs' states, under a stopped parent, without Hyper-V."""
    from nestlab.lab.session import running_guests_at
    from nestlab.simulator.generate import generate
    from nestlab.simulator.session_protocol import RUNNING_GUESTS, running_guests

    lab = generate(seed=11, hosts=2, depth=3, vms_per_host=8)
    vms = list(lab.all_vms())
    nested = [vm for vm in vms if lab.vms(vm)]
    for vm, state in zip(vms[1::3], ("Off", "Saved", "Paused", "Off")):
        lab.update(vm, state=state)
    lab.update(nested[0], state="Off")  # its guests are Running in the file but not running
    places = [*lab.hosts(), *vms]
    seen = 0
    for place in places:
        expected = running_guests(powershell.run(lab, place, RUNNING_GUESTS))
        assert running_guests_at(lab, place) == expected, place
        seen += len(expected)
    assert seen >= 4 and any(not lab.platform(p).hyperv_installed for p in vms)


def test_an_object_answers_get_and_in_with_one_lookup_and_no_exception(monkeypatch):
    from nestlab.simulator.psdata import PSObject

    o = PSObject(("T",), [("Name", "L1"), ("State", None)])
    assert (o.get("name"), o.get("STATE", 7), o.get("Missing"), o.get("missing", 7)) == ("L1", None, None, 7)
    assert "name" in o and "Missing" not in o

    def no_item(self, name):  # Mapping.get/__contains__ go through __getitem__ and catch its KeyError
        raise AssertionError("get/in went through __getitem__")

    monkeypatch.setattr(PSObject, "__getitem__", no_item)
    assert (o.get("Name"), o.get("missing", 7), "state" in o, "missing" in o) == ("L1", 7, True, False)


@pytest.mark.parametrize("cls", ["ErrorRecord", "Command", "Result"])
def test_a_record_is_made_as_its_dataclass_fields_say_without_the_frozen_init(cls):
    """ErrorRecord, Command and Result set their fields at once (the generated frozen __init__
    sets each through object.__setattr__): the same parameters, defaults and keyword-only ones."""
    import dataclasses
    import inspect

    from nestlab.simulator import psdata

    kind = getattr(psdata, cls)
    fields = dataclasses.fields(kind)
    parameters = list(inspect.signature(kind.__init__).parameters.values())[1:]
    assert [(p.name, p.default, p.kind is inspect.Parameter.KEYWORD_ONLY) for p in parameters] == [
        (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default, f.kw_only) for f in fields]
    if cls != "Command":  # slotted (below): its slots are set one by one, as the generated __init__ does
        assert "__setattr__" not in kind.__init__.__code__.co_names  # not the generated frozen __init__


def test_a_command_is_slotted_and_small():
    """A Command has no __dict__ (perf8: every answer the evidence keeps holds its request's
    pipeline, ~5,000 Commands per 1,000 VMs; with a __dict__ each took 240 bytes) and is still frozen."""
    import sys

    made = Command.of("Get-VHD", Path="C:\\a.vhdx")
    assert not hasattr(made, "__dict__") and sys.getsizeof(made) <= 64


def test_an_error_record_made_at_once_is_the_frozen_record_it_was():
    import dataclasses

    from nestlab.simulator.psdata import ErrorRecord

    record = ErrorRecord("m", "Id,X", "InvalidArgument", target_name="L1", terminating=False)
    assert [getattr(record, f.name) for f in dataclasses.fields(ErrorRecord)] == [
        "m", "Id,X", "InvalidArgument", "L1", "", "", "", "System.Exception", False]
    assert dataclasses.replace(record, terminating=True) == ErrorRecord("m", "Id,X", "InvalidArgument", "L1")
    assert hash(record) == hash(ErrorRecord("m", "Id,X", "InvalidArgument", "L1", terminating=False))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.message = "changed"  # type: ignore[misc]


def test_a_command_made_at_once_is_the_frozen_command_it_was():
    import dataclasses

    made = Command.of("Get-VHD", "x", Path="C:\\a.vhdx")
    assert (made.name, made.parameters, made.arguments) == ("Get-VHD", (("Path", "C:\\a.vhdx"),), ("x",))
    assert made == Command("Get-VHD", (("Path", "C:\\a.vhdx"),), ("x",)) and hash(made) == hash(Command.of("Get-VHD", "x", Path="C:\\a.vhdx"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "Get-VM"  # type: ignore[misc]


def test_a_result_made_at_once_is_the_frozen_result_it_was():
    import dataclasses

    from nestlab.simulator.endpoint.streams import StreamedResult
    from nestlab.simulator.psdata import ErrorRecord, Result

    record, request = ErrorRecord("m", "Id"), object()
    made = Result(("o",), (record,), True, request=request)
    assert (made.output, made.errors, made.failed, made.request, made.guests) == (("o",), (record,), True, request, ())
    assert made == Result(("o",), (record,), True) and hash(made) == hash(Result(("o",), (record,), True))  # request not compared
    assert repr(made) == "Result(output=('o',), errors=(" + repr(record) + ",), failed=True, guests=())"
    assert dataclasses.replace(made, failed=False).request is request and Result(guests=((("L1",), made),)).guests[0][1] is made
    streamed = StreamedResult(("o",), warnings=("w",))
    assert (streamed.output, streamed.warnings, streamed.failed) == (("o",), ("w",), False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.failed = False  # type: ignore[misc]



def _plain_guest():
    """A lab and a running guest with no VMs of its own (so no disks either)."""
    from nestlab.simulator.generate import generate

    lab = generate(seed=5, hosts=1, depth=2, vms_per_host=6)
    guest = next(vm for vm in lab.all_vms() if lab[vm].state == "Running" and not lab.vms(vm))
    return lab, guest


_DISKS = Command.of("Get-VMHardDiskDrive", VMName="*")
_PARENTS = (Command.of("Get-VHD"), Command.of("Where-Object", Property="ParentPath", Like="?*"),
            Command.of("Select-Object", ExpandProperty="ParentPath"), Command.of("Get-VHD"))
_QUIET = ("get-vhd", "where-object", "select-object")


@pytest.fixture
def refusing_empty_input():
    """The quiet cmdlets made to fail if they are run over no input (Cmdlet is frozen: set directly)."""
    real = {name: TABLE[name].func for name in _QUIET}

    def refusing(func):
        def run(ctx, call):
            if not call.input:
                raise AssertionError(f"{call.cmdlet.name} ran over no input")
            return func(ctx, call)
        return run

    for name in _QUIET:
        object.__setattr__(TABLE[name], "func", refusing(real[name]))
    yield
    for name in _QUIET:
        object.__setattr__(TABLE[name], "func", real[name])


def test_stages_after_an_empty_output_are_not_run_when_they_would_do_nothing(refusing_empty_input):
    """Where-Object, Select-Object and Get-VHD (piped into) only work on their input: after a stage
    that wrote nothing, powershell.run stops (PowerShell calls a Process block once per input
    object). The answer is the one the stages would have given; the errors written before stay."""
    lab, guest = _plain_guest()
    disks = powershell.run(lab, guest, (_DISKS, *_PARENTS))
    assert not disks.output and not disks.errors and not disks.failed
    events = powershell.run(lab, guest, (Command.of("Get-WinEvent", LogName="System", MaxEvents=5),
                                         Command.of("Where-Object", Property="Id", In=[1])))
    assert not events.output and [e.fully_qualified_error_id.split(",")[0] for e in events.errors] == [
        "NoMatchingEventsFound"] and not events.failed


def test_the_quiet_cmdlets_give_nothing_over_no_input():
    """What `quiet_without_input` declares, checked against the cmdlets themselves: each, bound as
    declared, gives no object and no error over no input, on a host and in a guest."""
    from nestlab.simulator.cmdlets.base import Ctx, quiet_without_input

    lab, guest = _plain_guest()
    commands = [*_PARENTS, Command.of("Select-Object", Property=["Name", "State"], First=2),
                Command.of("Where-Object", Property="State", EQ="Running"), Command.of("Select-Object", Skip=1)]
    for place in (lab.hosts()[0], guest):
        for command in commands:
            entry = TABLE[command.name.lower()]
            assert quiet_without_input(entry, base.binding(entry, command)[0]), command
            ctx = Ctx(lab, place, lambda where, commands: powershell.run(lab, where, commands))
            assert list(entry.func(ctx, bind(entry, command, [])) or ()) == [] and not ctx.errors, (place, command)


def test_a_stage_that_works_without_input_still_runs_after_an_empty_output(refusing_empty_input):
    """Not skipped: a cmdlet not declared quiet (ForEach-Object's -Begin/-End run without input),
    a binding the simulator reads before its input (Get-VHD -Path, a Where-Object script block),
    a stage that does not bind, and the first stage of a pipeline."""
    from nestlab.simulator.cmdlets.base import quiet_without_input
    from nestlab.simulator.psparse import ScriptBlock

    lab, guest = _plain_guest()
    assert not quiet_without_input(TABLE["foreach-object"], {"begin": "x"})
    for command in (Command.of("Get-VHD", Path="C:\\x.vhdx"), Command.of("Where-Object", Property=ScriptBlock("$_"))):
        with pytest.raises(AssertionError, match="ran over no input"):
            powershell.run(lab, guest, (_DISKS, command))
    unbound = powershell.run(lab, guest, (_DISKS, Command.of("Get-VHD", Bogus=1)))
    assert unbound.failed and "NamedParameterNotFound" in unbound.errors[-1].fully_qualified_error_id
    with pytest.raises(AssertionError, match="ran over no input"):
        powershell.run(lab, guest, (Command.of("Get-VHD"),))  # the first stage runs once, as PowerShell's does
    missing = powershell.run(lab, guest, (_DISKS, Command.of("Get-Nothing")))
    assert missing.failed and missing.errors[0].fully_qualified_error_id == "CommandNotFoundException"


def test_an_answer_of_nothing_for_no_request_is_one_shared_result():
    """A pipeline that writes nothing answers the one frozen NOTHING when no request is stamped on
    it (a fan-out's guests); with a request, or with an error or an object, its own Result."""
    from nestlab.lab.session import Request, SimSession
    from nestlab.simulator.model import NodeId
    from nestlab.simulator.psdata import Result

    lab, guest = _plain_guest()
    nothing = powershell.run(lab, guest, (_DISKS,))
    assert nothing is powershell.NOTHING and nothing == Result() and nothing.request is None
    request = Request(NodeId.parse(guest), (_DISKS,))
    stamped = powershell.run(lab, guest, (_DISKS,), request=request)
    assert stamped is not nothing and stamped == nothing and stamped.request is request
    assert powershell.run(lab, guest, (Command.of("Get-WinEvent", LogName="System", MaxEvents=5),)).errors
    host = lab.hosts()[0]
    fanned = SimSession(lab).send([Request(NodeId.parse(host), (_DISKS,), guest_levels=2)])[0]
    assert any(answer is powershell.NOTHING for _, answer in fanned.guests)


def test_a_fan_out_works_out_its_pipelines_plan_once_for_all_its_guests(monkeypatch):
    from nestlab.lab.session import Request, SimSession
    from nestlab.simulator.generate import generate
    from nestlab.simulator.model import NodeId

    lab = generate(seed=5, hosts=1, depth=2, vms_per_host=6)
    pipeline = (Command.of("Get-CimInstance", ClassName="Win32_OperatingSystem"),)
    asked = []
    real = powershell.plan_of
    monkeypatch.setattr(powershell, "plan_of", lambda p: (asked.append(p), real(p))[1])
    answer = SimSession(lab).send([Request(NodeId.parse(lab.hosts()[0]), pipeline, guest_levels=2)])[0]
    assert len(answer.guests) >= 3 and all(guest.output for _, guest in answer.guests)
    assert asked == [pipeline]


def test_a_context_runs_nested_pipelines_through_its_runner_or_the_function_given():
    """powershell.run hands Ctx itself as the runner (no closure made per pipeline); a cmdlet that
    makes a Ctx of its own may still give a (where, commands) function."""
    from nestlab.simulator.cmdlets.base import Ctx

    lab, guest = _plain_guest()
    os_info = (Command.of("Get-CimInstance", ClassName="Win32_OperatingSystem"),)
    ran = Ctx(lab, guest, None, powershell.run).run_nested(guest, os_info)
    assert ran == powershell.run(lab, guest, os_info) and ran.output
    seen = []
    assert Ctx(lab, guest, lambda where, commands: seen.append((where, commands))).run_nested("x", os_info) is None
    assert seen == [("x", os_info)]


def test_a_pipelines_plan_keeps_its_bindings_itself_not_per_command_too():
    """A command made per file path is bound once, for its pipeline's plan: not kept a second time
    in the cmdlet's table of bindings (bind keeps those for callers without a plan)."""
    entry = TABLE["test-vhd"]
    before = len(base._bindings(entry))
    pipeline = (Command.of("Test-VHD", Path="C:\\planned.vhdx"),)
    plan = powershell.plan_of(pipeline)
    assert plan.bound == ((({"path": "C:\\planned.vhdx"}), ()),) and powershell.plan_of(pipeline) is plan
    assert len(base._bindings(entry)) == before
    assert base._bindings(entry).get(pipeline[0]) is None


def test_a_planned_pipeline_is_run_without_asking_for_its_plan_again(monkeypatch):
    """`run` reads a pipeline's plan straight from the table `plan_of` fills (by identity); a new
    pipeline object is still planned."""
    lab, guest = _plain_guest()
    pipeline = (Command.of("Get-CimInstance", ClassName="Win32_OperatingSystem"),)
    first = powershell.run(lab, guest, pipeline)
    monkeypatch.setattr(powershell, "plan_of", lambda p: (_ for _ in ()).throw(AssertionError("planned again")))
    assert powershell.run(lab, guest, pipeline).output[0]["Caption"] == first.output[0]["Caption"]
    with pytest.raises(AssertionError, match="planned again"):
        powershell.run(lab, guest, (Command.of("Get-CimInstance", ClassName="Win32_OperatingSystem"),))


def test_only_a_pipeline_of_more_than_one_stage_keeps_repeated_reads(monkeypatch):
    """A one-stage read-only pipeline (Get-VHD -Path) has nothing to keep (its only output is its
    caller's): it runs without RepeatedReads; a longer one still uses them."""
    from nestlab.simulator import repeated_reads

    made = []

    class Counting(repeated_reads.RepeatedReads):
        def __init__(self, *args):
            made.append(args[2])
            super().__init__(*args)

    monkeypatch.setattr(powershell, "RepeatedReads", Counting)
    lab = labfile.load("builtin:reference")
    host = lab.hosts()[0]
    one = (Command.of("Get-VMHardDiskDrive", VMName="*"),)
    two = (Command.of("Get-VMHardDiskDrive", VMName="*"), Command.of("Get-VHD"))
    assert not powershell.plan_of(one).reads and powershell.plan_of(two).reads
    assert powershell.run(lab, host, one).output and powershell.run(lab, host, two).output
    assert made == [two]


def test_an_answer_run_makes_is_the_one_results_own_init_makes():
    from nestlab.simulator.psdata import ErrorRecord, Result

    request, args = object(), (("o",), (ErrorRecord("m", "Id"),))
    made, real = powershell._answer(*args, request), Result(*args, request=request)
    assert type(made) is Result and vars(made) == vars(real) and made == real and made.request is request


def test_a_call_is_slotted():
    """Every stage makes a Call: slotted, it has no __dict__ to make and free."""
    call = bind(TABLE["get-vhd"], Command.of("Get-VHD", Path="C:\\a.vhdx"), [])
    assert not hasattr(call, "__dict__") and call.named == {"path": "C:\\a.vhdx"}


def test_the_vm_names_of_places_are_one_table_and_places_without_vms_share_one_answer():
    """`Ctx._vm_names` keeps one Lab.memo table of places (not a memo entry and key per place), and
    every place without VMs (each plain guest) holds the same read-only answer; `lab.changed()`
    forgets the table."""
    from nestlab.simulator.cmdlets.base import Ctx, _VM_NAMES
    from nestlab.simulator.generate import generate

    lab = generate(seed=5, hosts=1, depth=2, vms_per_host=6)
    empty = [str(v) for v in lab.all_vms() if not list(lab.vms(v))][:2]
    host = next(iter(lab.hosts()))
    answers = [Ctx(lab, place)._vm_names() for place in (*empty, host)]
    assert answers[0] is answers[1] and not answers[0][0] and answers[2][0]
    assert set(lab.memo(_VM_NAMES, dict)) == {*empty, host}
    lab.changed()
    assert lab.memo(_VM_NAMES, dict) == {}
