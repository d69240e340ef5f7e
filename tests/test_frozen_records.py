"""The model's records are made at once (simulator/frozen.py, issue 17) and are still exactly the
frozen keyword-only dataclasses they were: same parameters and defaults, a fresh default per
record from a default_factory, equality, hashing, replace, and no assignment afterwards."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from nestlab.simulator import model
from nestlab.simulator.frozen import frozen_record

RECORDS = [value for value in vars(model).values()
           if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == model.__name__
           and value.__init__.__doc__ and "frozen_record" in value.__init__.__doc__]


def test_every_record_of_the_model_is_made_at_once():
    assert {cls.__name__ for cls in RECORDS} >= {"Host", "Guest", "VM", "Adapter", "Nic", "Switch", "Nat", "Vhd",
                                                   "Security", "OSInfo", "Processor", "Memory", "Volume"}
    for cls in RECORDS:
        assert "__setattr__" not in cls.__init__.__code__.co_names, cls  # not the generated frozen __init__


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
def test_a_record_takes_the_keywords_and_defaults_its_fields_declare(cls):
    parameters = list(inspect.signature(cls).parameters.values())
    expected = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            "<factory>" if f.default_factory is not dataclasses.MISSING else inspect.Parameter.empty)
        expected.append((f.name, default))
    assert [(p.name, repr(p.default) if repr(p.default) == "<factory>" else p.default) for p in parameters] == expected
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)


def test_a_record_made_at_once_behaves_as_the_frozen_dataclass():
    vm = model.VM(name="L1", state="Running")
    assert (vm.name, vm.state, vm.generation) == ("L1", "Running", 2)
    assert vm.processor == model.Processor() and vm.processor is not model.VM(name="L2").processor  # a factory per record
    assert vm == model.VM(name="L1", state="Running") and hash(vm) == hash(model.VM(name="L1", state="Running"))
    assert dataclasses.replace(vm, state="Off") == model.VM(name="L1") and vm.state == "Running"
    with pytest.raises(dataclasses.FrozenInstanceError):
        vm.name = "L2"  # type: ignore[misc]
    with pytest.raises(TypeError):
        model.VM("L1")  # type: ignore[misc]  # keyword-only, as before
    with pytest.raises(TypeError):
        model.VM(name="L1", colour="blue")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        model.VM()  # type: ignore[call-arg]  # name has no default


def test_frozen_record_refuses_what_it_would_not_set():
    with pytest.raises(TypeError, match="no __post_init__"):
        @frozen_record
        class Checked:
            size: int = 0

            def __post_init__(self) -> None:
                pass


def test_a_stable_guid_is_the_name_based_uuid_it_always_was():
    """model.stable_guid writes the version-5 UUID's text itself (issue 17): the same text
    uuid.UUID(bytes=sha1[:16], version=5) gives, for any names."""
    import hashlib
    import random
    import uuid

    rng = random.Random(17)
    for _ in range(2000):
        parts = tuple("".join(rng.choice("abcXYZ019-_/\\:é") for _ in range(rng.randrange(0, 12)))
                      for _ in range(rng.randrange(1, 4)))
        digest = hashlib.sha1("\x00".join(parts).encode()).digest()
        assert model.stable_guid.__wrapped__(*parts) == str(uuid.UUID(bytes=digest[:16], version=5)).upper()
