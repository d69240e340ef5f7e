"""CLIXML shaping: what survives the wire, with which type, and in which XML shape."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from nestlab.simulator import clixml
from nestlab.simulator.psdata import ErrorRecord, PSEnum, PSObject, Result

VM = ("Microsoft.HyperV.PowerShell.VirtualMachine", "System.Object")
STATE = PSEnum("Microsoft.HyperV.PowerShell.VMState", "Running", 2)


def vm(**extra: object) -> PSObject:
    return PSObject(VM, {"Name": "L1", "State": STATE, **extra}, to_string="VirtualMachine (Name = 'L1')")


def test_top_level_object_keeps_type_names_and_to_string():
    back = clixml.roundtrip(vm())
    assert back.type_names == VM
    assert str(back) == "VirtualMachine (Name = 'L1')"


def test_primitive_properties_keep_their_types():
    values = {
        "Flag": True, "Count": 2, "Bytes": 8 * 2**30, "Huge": 2**63 + 5, "Ratio": 0.25, "Text": "x",
        "When": datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc), "Naive": datetime(2020, 5, 6, 7, 8, 9),
        "Uptime": timedelta(days=1, hours=2, seconds=3.5), "Id": uuid.UUID(int=7), "Raw": b"\x00\x01", "Nothing": None,
    }
    back = clixml.roundtrip(vm(**values))
    for key, value in values.items():
        assert back[key] == value and type(back[key]) is type(value), key


def test_integer_tags_follow_the_value_range():
    element = clixml.to_element(vm(Small=5, Big=8 * 2**30))
    assert element.find("Props/I32[@N='Small']") is not None
    assert element.find("Props/I64[@N='Big']") is not None


def test_enum_property_is_its_name_as_windows_writes_it_at_depth_1():
    # pypsrp-recordings/test_psrp_multiple_commands.yml: Get-Service's Status is <S N="Status">Running</S>
    element = clixml.to_element(vm())
    assert element.find("Props/Obj[@N='State']") is None
    assert element.find("Props/S[@N='State']").text == "Running"
    back = clixml.roundtrip(vm())["State"]
    assert type(back) is str and back == "Running" == STATE
    assert clixml.wire_copy(vm())["State"] == "Running" and type(clixml.wire_copy(vm())["State"]) is str


def test_a_top_level_enum_keeps_its_type_and_number():
    element = clixml.to_element(STATE)
    assert element.findtext("ToString") == "Running" and element.findtext("I32") == "2"
    assert [t.text for t in element.iter("T")][1:] == ["System.Enum", "System.ValueType", "System.Object"]
    assert isinstance(clixml.wire_copy(STATE), PSEnum) and clixml.wire_copy(STATE) == 2


def test_an_enum_in_a_property_list_is_a_name_too():
    element = clixml.to_element(vm(States=[STATE]))
    assert [s.text for s in element.find("Props/Obj[@N='States']/LST")] == ["Running"]
    assert clixml.roundtrip(vm(States=[STATE]))["States"] == ["Running"] == clixml.wire_copy(vm(States=[STATE]))["States"]


def test_enum_written_as_plain_string_by_a_real_host_reads_as_that_string():
    xml = '<Obj RefId="0"><TN RefId="0"><T>X</T></TN><Props><S N="Status">Running</S></Props></Obj>'
    assert clixml.from_clixml(xml)["Status"] == "Running" == STATE


def test_nested_complex_property_arrives_as_its_string_form():
    inner = PSObject(("Microsoft.HyperV.PowerShell.VMSwitch",), {"Name": "NAT"}, to_string="NATSwitch")
    assert clixml.roundtrip(vm(Switch=inner))["Switch"] == "NATSwitch"


def test_array_property_is_object_array_of_values():
    element = clixml.to_element(vm(IPAddresses=("10.0.0.1", "fe80::1")))
    array = element.find("Props/Obj[@N='IPAddresses']")
    assert [t.text for t in array.iter("T")] == ["System.Object[]", "System.Array", "System.Object"]
    assert clixml.roundtrip(vm(IPAddresses=("10.0.0.1", "fe80::1")))["IPAddresses"] == ["10.0.0.1", "fe80::1"]


def test_custom_objects_carry_note_properties_in_ms():
    selected = PSObject(("Selected.Microsoft.HyperV.PowerShell.VirtualMachine", clixml.PS_CUSTOM_OBJECT, "System.Object"), {"Name": "L1"})
    element = clixml.to_element(selected)
    assert element.find("MS/S[@N='Name']") is not None and element.find("Props") is None
    assert clixml.to_element(vm()).find("Props/S[@N='Name']") is not None


def test_repeated_type_names_are_written_once_and_referenced():
    element = clixml.to_element(vm(A=[1], B=[2]))
    assert len(element.findall(".//TN")) == 2  # the VM's and System.Object[]'s
    assert element.find("Props/Obj[@N='B']/TNRef") is not None
    back = clixml.from_clixml(element)
    assert back["B"] == [2]


@settings(max_examples=50)
@given(st.text())
def test_any_string_survives(text):
    assert clixml.roundtrip(text) == text
    assert clixml.roundtrip(vm(Notes=text))["Notes"] == text


def test_control_characters_and_literal_escapes_use_psrp_encoding():
    element = clixml.to_element("a\nb_x000A_c")
    assert element.text == "a_x000A_b_x005F_x000A_c"  # as the recorded Windows output encodes them


def test_error_record_round_trip_keeps_every_field():
    record = ErrorRecord(
        "Hyper-V was unable to find a virtual machine with name \"nope\".",
        "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM", "InvalidArgument",
        target_name="nope", target_type="String", activity="Get-VM", reason="VirtualizationException",
        exception_type="Microsoft.HyperV.PowerShell.VirtualizationException", terminating=False,
    )
    assert clixml.roundtrip(record) == record
    assert clixml.roundtrip(record).category_info == record.category_info


def test_error_record_shape_matches_windows():
    record = ErrorRecord("boom", "Some.Id", "ObjectNotFound", exception_type="System.Management.Automation.ItemNotFoundException")
    element = clixml.to_element(record)
    assert element.findtext("ToString") == "boom"
    assert element.findtext("MS/I32[@N='ErrorCategory_Category']") == "13"
    assert element.findtext("MS/Obj[@N='Exception']/Props/S[@N='Message']") == "boom"
    assert element.find("MS/B[@N='writeErrorStream']") is None  # terminating
    streamed = clixml.to_element(ErrorRecord("w", "W", terminating=False))
    assert streamed.findtext("MS/B[@N='writeErrorStream']") == "true"


def test_roundtrip_is_idempotent():
    once = clixml.roundtrip(vm(Switch=PSObject(("S",), {}, "sw"), L=(1, 2), When=datetime(2020, 1, 1)))
    assert clixml.roundtrip(once) == once


def test_wire_errors_stream_the_non_terminating_and_fail_with_the_terminating():
    soft, hard = ErrorRecord("soft", "S", terminating=False), ErrorRecord("hard", "H")
    streamed, terminating = clixml.wire_errors(Result((), (hard, soft), True))
    assert [e.message for e in streamed] == ["soft"] and terminating.message == "hard"
    result = clixml.roundtrip_result(Result(("x",), (hard, soft), True))
    assert [(e.message, e.terminating) for e in result.errors] == [("soft", False), ("hard", True)]
    assert result.failed and result.output == ("x",)


def test_records_of_a_completed_pipeline_are_all_streamed():
    streamed, terminating = clixml.wire_errors(Result((), (ErrorRecord("e", "E"),), False))
    assert terminating is None and [e.terminating for e in streamed] == [False]


def test_top_level_enum_and_primitives():
    assert clixml.roundtrip(STATE) == STATE and isinstance(clixml.roundtrip(STATE), PSEnum)
    assert clixml.from_clixml("<I32>123</I32>") == 123
    assert clixml.from_clixml(b"\xef\xbb\xbf<S>before</S>") == "before"
    assert ET.fromstring(clixml.to_clixml(True)).tag == "B"
