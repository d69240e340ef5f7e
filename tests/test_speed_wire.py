"""SimSession's answers are still what the wire gives (issue 17): `clixml.wire_copy` — the CLIXML
round trip without the text, SimSession's default — equals the real serialize → parse round trip
value for value and *type for type*, on every answer of full collections (every builtin lab,
every fault of the catalog injected, a generated lab) and on arbitrary generated values; and a
diagnosis through either gives the same report. Equality here is strict: PSObject's own `==`
ignores ToString and compares enums by name, so the values are compared as typed trees."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings, strategies as st

from nestlab.diagnosis.collect import collect
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import clixml, faults, labfile
from nestlab.simulator.kept import Kept
from nestlab.simulator.generate import generate
from nestlab.simulator.psdata import ErrorRecord, PSEnum, PSObject, Result


def typed(value: Any) -> Any:
    """A value as a tree of (kind, …) tuples that differ whenever type, order or text differ."""
    if isinstance(value, PSObject):
        return ("PSObject", value.type_names, value.to_string, tuple((k, typed(v)) for k, v in value.items()),
                tuple(sorted(value._index.items())))
    if isinstance(value, PSEnum):
        return ("PSEnum", value.type_name, value.name, value.value)
    if isinstance(value, ErrorRecord):
        return ("ErrorRecord", tuple(sorted(vars(value).items())))
    if isinstance(value, dict):
        return ("dict", tuple((typed(k), typed(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(typed(v) for v in value))
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo))
    return (type(value).__name__, repr(value))


def typed_result(result: Result) -> Any:
    return (typed(result.output), typed(result.errors), result.failed)


class Recording(SimSession):
    """A SimSession that keeps every raw answer (before either round trip)."""

    def __init__(self, lab) -> None:
        super().__init__(lab)
        self.raw: list[Result] = []
        copy = self.wire
        self.wire = lambda result: (self.raw.append(result), copy(result))[1]


def answers(lab) -> list[Result]:
    session = Recording(lab)
    collect(session)
    return session.raw


def broken_labs():
    yield "builtin labs", [labfile.load(f"builtin:{name}") for name in labfile.builtin_names()]
    yield "generated", [generate(seed=3, hosts=2, depth=3)]
    labs = []
    for fault in faults.CATALOG.values():  # on reference, or on legacy where it is real only on early builds
        lab = labfile.load("builtin:reference")
        if not fault.candidates(lab):
            lab = labfile.load("builtin:legacy")
        fault.inject(lab, None)
        labs.append(lab)
    yield "every fault", labs


@pytest.mark.parametrize("name, labs", list(broken_labs()), ids=lambda x: x if isinstance(x, str) else "")
def test_the_copy_is_the_round_trip_on_every_answer_of_a_collection(name, labs, monkeypatch):
    fallbacks = []
    real = clixml.roundtrip
    monkeypatch.setattr(clixml, "roundtrip", lambda v: (fallbacks.append(v), real(v))[1])
    results = [r for lab in labs for r in answers(lab)]
    assert len(results) > 30
    mismatches = [r for r in results if typed_result(clixml.wire_copy_result(r)) != typed_result(clixml.roundtrip_result(r))]
    assert mismatches == []
    assert fallbacks == []  # every answer a collection gets takes the fast path


def test_a_diagnosis_through_the_copy_equals_one_through_the_text():
    for lab in [labfile.load("builtin:reference"), generate(seed=5, hosts=2, depth=2)]:
        fast = diagnose_session(SimSession(lab.copy()), target="t").report
        exact = diagnose_session(SimSession(lab.copy(), exact_wire=True), target="t").report
        assert fast.to_json().replace(fast.collected_at, "") == exact.to_json().replace(exact.collected_at, "")


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["", "_x000A_", "a\r\nb\t", "<&>\"'", "\x00\x1f", "\ufffe", "é"])
# type and property names never hold characters XML cannot carry (the writer escapes only values)
name = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=10)
primitive = (st.none() | st.booleans() | st.integers(-(2**70), 2**64 - 1) | st.floats(allow_nan=False) | text
             | st.datetimes(timezones=st.none() | st.just(timezone.utc) | st.just(timezone(timedelta(hours=-5, minutes=-30))))
             | st.dates() | st.timedeltas(min_value=timedelta(days=-999), max_value=timedelta(days=999))
             | st.uuids() | st.binary(max_size=8))
enum = st.builds(PSEnum, name, text, st.integers(-(2**31), 2**31 - 1))
error = st.builds(ErrorRecord, text, text, st.sampled_from(["NotSpecified", "invalidoperation", "Nope", ""]), text, text,
                  text, text, st.sampled_from(["System.Exception", "System.Object", "X.YException", ""]), st.booleans())
nested = st.recursive(primitive | enum | error, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(text, inner, max_size=3), max_leaves=8)
names = st.lists(name, max_size=3).map(tuple) | st.just((clixml.PS_CUSTOM_OBJECT, "System.Object"))
ps_object = st.builds(lambda n, p, s: PSObject(n, p, s), names, st.dictionaries(name, nested | st.builds(
    lambda n: PSObject(n, {"A": 1}, "inner"), names), max_size=5), st.none() | text)


@settings(max_examples=300, deadline=None)
@given(ps_object | nested)
def test_the_copy_is_the_round_trip_on_generated_values(value):
    assert typed(clixml.wire_copy(value)) == typed(clixml.roundtrip(value))


def outcome(action, value) -> Any:
    try:
        return typed(action(value))
    except Exception as exc:  # the real round trip refuses some values: the copy must refuse them alike
        return ("raises", type(exc).__name__)


def test_values_it_does_not_mirror_take_the_real_round_trip():
    class Text(str):
        pass

    class Other:
        def __str__(self) -> str:
            return "other <&>"

    values = ({1, 2}, "lone \ud800", PSObject(("System.Enum",), {}, "x"), date(2020, 1, 2), UUID(int=5),
              Text("sub"), Other(), PSObject(("T",), {"O": Other(), "S": {3}, "T": Text("t")}, "t"))
    for value in values:
        assert outcome(clixml.wire_copy, value) == outcome(clixml.roundtrip, value)
    assert outcome(clixml.roundtrip, "lone \ud800")[0] == "raises"


def test_an_object_the_wire_leaves_alone_is_not_copied_and_any_other_is():
    """The copy is skipped only where the round trip would give the same values back (issue 17):
    ASCII text, numbers, bools and None; a value the wire changes (a datetime, a nested object,
    a list) gets a new object, equal to the round trip's."""
    plain = PSObject(("T",), {"Name": "web", "Count": 3, "On": True, "Ratio": 0.5, "None": None, "É": "é"}, "web")
    assert clixml.wire_copy(plain) is plain
    changed = (PSObject(("T",), {"When": datetime(2020, 1, 2, tzinfo=timezone.utc)}, "t"),
               PSObject(("T",), {"Inner": PSObject(("U",), {"A": 1}, "inner")}, "t"),
               PSObject(("T",), {"List": [1, 2]}, "t"))
    for value in changed:
        copy = clixml.wire_copy(value)
        assert copy is not value and typed(copy) == typed(clixml.roundtrip(value))


@settings(max_examples=200, deadline=None)
@given(st.lists(ps_object | nested, max_size=3), st.lists(error, max_size=4), st.booleans())
def test_the_copy_of_an_answer_is_the_round_trip_of_it(output, errors, failed):
    """The records as the wire marks them (streamed non-terminating, a failed pipeline's last
    terminating one moved to the end), each value as it reads back."""
    result = Result(tuple(output), tuple(errors), failed)
    assert typed_result(clixml.wire_copy_result(result)) == typed_result(clixml.roundtrip_result(result))


def test_an_answer_the_wire_leaves_alone_is_itself_and_any_other_is_made_once():
    """A Result is frozen and so is an ErrorRecord: the copy shares what the wire would give back
    unchanged (issue 17: one Result per answer, not three), keeps the request it answers, and
    makes a new Result or record only where the wire changes something."""
    plain = PSObject(("T",), {"Name": "web", "Count": 3}, "web")
    soft = ErrorRecord("gone", "Gone,X", "ObjectNotFound", reason="R", exception_type="X.YException", terminating=False)
    hard = ErrorRecord("stop", "Stop,X", "InvalidOperation", reason="R", exception_type="X.YException")
    request = object()
    for same in (Result((plain,), (soft,), request=request), Result((), (soft, hard), True, request=request)):
        assert clixml.wire_copy_result(same) is same
    moved = clixml.wire_copy_result(Result((plain,), (hard, soft), True, request=request))  # the terminating one goes last
    assert moved.errors == (soft, hard) and moved.errors[0] is soft and moved.errors[1] is hard
    assert moved.output[0] is plain and moved.request is request
    streamed = clixml.wire_copy_result(Result((), (hard,), request=request))  # a streamed record is non-terminating
    assert streamed.errors[0] is not hard and streamed.errors[0].terminating is False and streamed.request is request
    lowered = ErrorRecord("m", "Id", "invalidoperation", terminating=False)  # the reader gives the category's own name
    assert clixml.wire_copy_result(Result((), (lowered,))).errors[0].category == "InvalidOperation"


def test_simsession_answers_are_made_with_their_request_not_stamped_after(monkeypatch):
    """powershell.run makes each answer with its request (issue 17): `answered` has nothing to
    replace, for a plain request or a fan-out one."""
    from nestlab.simulator import session_protocol
    from nestlab.simulator.psdata import Command
    from nestlab.simulator.session_protocol import Request

    def refuse(*args, **kwargs):
        raise AssertionError("an answer was copied to stamp its request")

    monkeypatch.setattr(session_protocol, "replace", refuse)
    lab = labfile.load("builtin:reference")
    host = lab.hosts()[0]
    requests = [Request.at(host, (Command.of("Get-VM"),)), Request.at(host, (Command.of("Get-Nope"),)),
                Request.at(host, (Command.of("Get-VMProcessor"),), guest_levels=2)]
    answers = SimSession(lab).send(requests)
    assert [a.request for a in answers] == requests and answers[2].guests



def test_the_copy_is_planned_per_shape_and_each_object_still_checks_its_values(monkeypatch):
    """What a shape's names decide (`_shape_crosses`) is kept per (type names, property names);
    the values are checked on every object: the same shape with a lone surrogate takes the real
    round trip (which refuses it), with an aware datetime a new object, with plain values the object."""
    checked = []
    real = clixml._shape_crosses
    monkeypatch.setattr(clixml, "_shape_crosses", lambda n, k: (checked.append((n, k)), real(n, k))[1])
    monkeypatch.setattr(clixml, "_SHAPES", Kept(4096))
    shape = ("T.Planned", "System.Object")
    plain = PSObject(shape, {"Name": "a", "When": None}, "a")
    assert clixml.wire_copy(plain) is plain
    lone = PSObject(shape, {"Name": "lone \ud800", "When": None}, "a")
    assert outcome(clixml.wire_copy, lone) == outcome(clixml.roundtrip, lone) and outcome(clixml.roundtrip, lone)[0] == "raises"
    dated = PSObject(shape, {"Name": "a", "When": datetime(2020, 1, 2, tzinfo=timezone.utc)}, "a")  # aware: changed
    assert clixml.wire_copy(dated) is not dated and typed(clixml.wire_copy(dated)) == typed(clixml.roundtrip(dated))
    assert checked == [(shape, ("Name", "When"))]
    enum_like = PSObject(("System.Enum",), {"Name": "a", "When": None}, "a")  # the same names, another shape
    assert clixml.wire_copy(enum_like) is not enum_like and typed(clixml.wire_copy(enum_like)) == typed(clixml.roundtrip(enum_like))
    odd_key = PSObject(shape, {"Name": "a", "lone \ud800": None}, "a")  # another shape: names that do not cross
    assert outcome(clixml.wire_copy, odd_key) == outcome(clixml.roundtrip, odd_key)
    assert len(checked) == 3


def test_the_shapes_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(clixml, "_SHAPES", Kept(3))
    for i in range(10):
        clixml.wire_copy(PSObject(("T",), {f"P{i}": i}, "t"))
    assert len(clixml._SHAPES) <= 3


def test_values_that_read_back_as_themselves_are_not_rebuilt_from_text(monkeypatch):
    """A naive datetime (year 1000 on, fold 0) and the numbers, bools and Nones in a list cross
    as themselves: the copy returns them without writing and parsing their CLIXML text, which
    gives an equal value of the same type; other datetimes still take the text."""
    def refuse(value):
        raise AssertionError(f"{value!r} went through its text")

    when = datetime(2024, 5, 6, 7, 8, 9, 123456)
    value = PSObject(("T",), {"When": when, "Ids": [1, 2.5, True, None, "a"]}, "t")
    expected = typed(clixml.roundtrip(value))
    monkeypatch.setattr(clixml, "_primitive", refuse)
    copy = clixml.wire_copy(value)
    assert copy["When"] is when and typed(copy) == expected
    monkeypatch.undo()
    for other in (datetime(999, 1, 2), datetime(2024, 5, 6, fold=1), datetime(2024, 5, 6, tzinfo=timezone.utc)):
        assert typed(clixml.wire_copy(other)) == typed(clixml.roundtrip(other))


def test_a_result_the_copy_makes_is_the_one_results_own_init_makes():
    """`_new_result` sets Result's fields directly: it must hold exactly what `Result(...)` holds
    (a field added to Result and not here fails this), and compare equal to it."""
    request = object()
    args = ((PSObject(("T",), {"A": 1}, "t"),), (ErrorRecord("m", "Id"),), True)
    made, real = clixml._new_result(*args, request), Result(*args, request=request)
    assert type(made) is Result and vars(made) == vars(real) and made == real and made.request is request


def test_plain_outputs_of_an_answer_are_themselves_without_the_general_copy(monkeypatch):
    """ASCII text, numbers, bools and None written as outputs (an expanded property, Test-Path)
    are returned as they are, as `wire_copy` would return them, without its calls; other
    outputs still go through it."""
    values = ("web", 3, True, None, 0.5)
    expected = [typed(clixml.roundtrip(v)) for v in values]
    monkeypatch.setattr(clixml, "wire_copy", lambda v: (_ for _ in ()).throw(AssertionError(v)))
    answer = Result(values)
    assert clixml.wire_copy_result(answer) is answer and [typed(v) for v in answer.output] == expected
    with pytest.raises(AssertionError):
        clixml.wire_copy_result(Result(("é",)))


def test_an_empty_list_property_is_a_new_empty_list_without_the_general_copy(monkeypatch):
    """An empty list property (most of an adapter's lists) is written as a new [] directly; a
    list with items still goes through `_copy`."""
    obj = PSObject(("T.Lists", "System.Object"), {"Acl": [], "State": PSEnum("T.OnOff", "On", 0), "Ips": ["a"]}, "t")
    expected = typed(clixml.roundtrip(obj))
    real = clixml._copy

    def no_empty_lists(value, top):
        if type(value) is list and not value:
            raise AssertionError("an empty list went through _copy")
        return real(value, top)

    monkeypatch.setattr(clixml, "_copy", no_empty_lists)
    copied = clixml.wire_copy(obj)
    assert typed(copied) == expected and copied["Acl"] == [] and copied["Acl"] is not obj["Acl"]


def test_streamed_records_are_checked_without_the_layer_around_the_check(monkeypatch):
    """The records of an answer that did not fail go to `_copy_error` directly; a record it does
    not mirror (a text that is not a plain str) still takes `_wire_record`'s way, the real round
    trip, with the others."""
    plain = ErrorRecord("m", "Id,X", "ObjectNotFound", activity="Get-X", reason="Exception", terminating=False)
    class Text(str):
        pass

    odd = ErrorRecord("m", "Id,X", "ObjectNotFound", target_name=Text("L1"), terminating=False)
    expected = [typed_result(clixml.roundtrip_result(Result((), records))) for records in ((plain,), (plain, odd))]
    real = clixml._wire_record
    layered = []
    monkeypatch.setattr(clixml, "_wire_record", lambda r, t: (layered.append(r), real(r, t))[1])
    answer = Result((), (plain,))
    assert clixml.wire_copy_result(answer) is answer and layered == []
    assert typed_result(clixml.wire_copy_result(answer)) == expected[0]
    assert typed_result(clixml.wire_copy_result(Result((), (plain, odd)))) == expected[1] and odd in layered


# perf8-plumbing8: objects a Shape made are copied by looking only at the values each was given

def _made_shape():
    from nestlab.simulator.cmdlets.shapes import VARIES, Shape

    return Shape("T.Made", [("Name", VARIES), ("State", PSEnum("T.OnOff", "On", 1)), ("Kind", "disk"),
                            ("Ips", VARIES), ("Size", 0)])


def test_an_object_made_from_exactly_its_varying_values_is_copied_by_those_alone():
    """The wire copy of a Shape's object made from exactly its varying values (psdata.SharedIndex marked)
    looks only at those: a constant slipped in behind the shape's back (no writer does this; the
    test does, to see what is looked at) is not looked at, so its enum stays an enum, where the
    general copy (any other object) turns it into its name. The copy equals the round trip, and
    holds the shape's unmarked index."""
    from nestlab.simulator.psdata import SharedIndex

    shape = _made_shape()
    made = shape.make({"Name": "d1", "Ips": []})
    assert type(made._index) is SharedIndex and made._index.given == ("Name", "Ips")
    copied = clixml.wire_copy(made)
    assert typed(copied) == typed(clixml.roundtrip(made)) and copied["State"] == "On" and type(copied["State"]) is str
    assert type(copied._index) is SharedIndex and copied._index is made._index.unmarked
    behind = shape.make({"Name": "d2", "Ips": []})
    behind._props["Kind"] = PSEnum("T.Kind", "Fixed", 2)  # not through set_property: no one unmarks it
    assert type(clixml.wire_copy(behind)["Kind"]) is PSEnum  # only the given values were looked at
    behind._index = behind._index.unmarked
    assert clixml.wire_copy(behind)["Kind"] == "Fixed" and type(clixml.wire_copy(behind)["Kind"]) is str


def test_an_object_given_a_constant_or_changed_by_a_script_is_copied_by_every_value():
    """`make` with a constant among the values, and `set_property` (the one writer of an object's
    values in place: Add-Member, `$o.X = …`) leave the object without the mark, so the wire copy
    looks at every value again: the copies equal the round trip."""
    from nestlab.simulator.psdata import SharedIndex
    from nestlab.simulator.pwsh.values import set_property

    shape = _made_shape()
    overridden = shape.make({"Name": "d1", "Ips": [], "Kind": PSEnum("T.Kind", "Fixed", 2)})
    assert type(overridden._index) is SharedIndex and overridden._index.given is None
    assert typed(clixml.wire_copy(overridden)) == typed(clixml.roundtrip(overridden))
    changed = shape.make({"Name": "d1", "Ips": []})
    set_property(changed, "Kind", PSEnum("T.Kind", "Fixed", 2))
    assert changed._index.given is None
    assert typed(clixml.wire_copy(changed)) == typed(clixml.roundtrip(changed)) and changed._index is shape.index


def test_a_shape_whose_constant_does_not_cross_as_itself_is_copied_the_general_way():
    """A constant the copy does not mirror (an int subclass) makes the shape's plan the general way
    (then the real round trip): the same answer as before."""
    from nestlab.simulator.cmdlets.shapes import VARIES, Shape

    class Level(int):
        pass

    shape = Shape("T.Odd", [("Name", VARIES), ("Level", Level(3))])
    made = shape.make({"Name": "x"})
    assert typed(clixml.wire_copy(made)) == typed(clixml.roundtrip(made)) and made._index.wire is False


def test_an_object_select_object_adopts_is_marked_and_copied_as_the_round_trip():
    """Select-Object's objects (`Shape.adopt`: every value given) carry the mark too; their copy is
    the round trip's."""
    from nestlab.simulator.cmdlets.shapes import VARIES, Shape
    from nestlab.simulator.psdata import SharedIndex

    shape = Shape("Selected.T", [("Name", VARIES), ("State", VARIES), ("Ips", VARIES)])
    adopted = shape.adopt({"Name": "vm1", "State": PSEnum("T.State", "Running", 2), "Ips": ["10.0.0.1"]})
    assert type(adopted._index) is SharedIndex and adopted._index.given == ("Name", "State", "Ips")
    assert typed(clixml.wire_copy(adopted)) == typed(clixml.roundtrip(adopted))


def test_an_object_whose_only_other_values_are_naive_datetimes_is_itself():
    """A naive datetime reads back as itself (as `_copy` returns it), so an object whose values are
    otherwise plain (Win32_OperatingSystem's LastBootUpTime, an event's TimeCreated) is not copied,
    made by a Shape or not; an aware one is still copied. Both equal the round trip."""
    from nestlab.simulator.cmdlets.shapes import VARIES, Shape

    naive, aware = datetime(2024, 5, 1, 8, 30, 15, 123456), datetime(2024, 5, 1, 8, 30, tzinfo=timezone.utc)
    shape = Shape("T.Os", [("Caption", "Windows"), ("LastBootUpTime", VARIES)])
    for obj in (PSObject(("T.Event", "System.Object"), {"Id": 4, "TimeCreated": naive}, "e"),
                shape.make({"LastBootUpTime": naive})):
        assert clixml.wire_copy(obj) is obj and typed(obj) == typed(clixml.roundtrip(obj))
    changed = shape.make({"LastBootUpTime": aware})
    assert clixml.wire_copy(changed) is not changed and typed(clixml.wire_copy(changed)) == typed(clixml.roundtrip(changed))
