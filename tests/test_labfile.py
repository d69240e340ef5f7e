"""Loading, saving and round trips of lab files (spec/lab-format.md)."""

from __future__ import annotations

import os

import pytest

from nestlab.simulator import labfile, labread, labsave
from nestlab.simulator.model import Edge, Processor, Switch, Vhd, switch_id, vhd_id

BUILTINS = labfile.builtin_names()

COMMENTED = """\
# my repro lab
lab: repro   # ticket 4711
hosts:
  - name: HV01
    memory_gb: 64          # the customer's value (the default, written anyway)
    # the switch the VM uses
    switches:
      - {name: External, type: External}
    vms:
      - name: L1            # the nested host
        generation: 2
        processor:
          count: 4          # four vCPUs
        adapters: [{switch: External}]
"""


def test_builtin_labs_exist_and_are_valid():
    assert {"reference", "azure", "deep"} <= set(BUILTINS)
    for name in BUILTINS:
        assert labfile.validate(f"builtin:{name}") == []


def test_builtin_reference_node_ids():
    lab = labfile.load("builtin:reference")
    for node in ("HV01", "HV01/L1", "HV01/L1/L2-web", "HV01/L1/L2-app", "HV01:switch:External",
                 "HV01/L1:nat:NestedNAT", "HV01:vhd:D:\\VMs\\L1\\L1.vhdx"):
        assert node in lab


@pytest.mark.parametrize("name", BUILTINS)
def test_load_save_load_is_equal_with_and_without_source(name, tmp_path):
    lab = labfile.load(f"builtin:{name}")
    kept = labfile.save(lab, tmp_path / "kept.yaml")
    assert labfile.load(kept) == lab
    lab.source = None
    fresh = labfile.save(lab, tmp_path / "fresh.yaml")
    assert labfile.load(fresh) == lab


@pytest.mark.parametrize("name", BUILTINS)
def test_saving_an_unchanged_lab_keeps_the_file_byte_for_byte(name):
    path = labfile.resolve(f"builtin:{name}")
    assert labfile.dumps(labfile.load(path)) == path.read_text(encoding="utf-8")


def test_defaults_are_filled_from_the_model():
    lab = labfile.loads("lab: tiny\nhosts:\n  - name: H\n    vms:\n      - name: V\n")
    vm, host = lab["H/V"], lab["H"]
    assert (vm.generation, vm.state, vm.processor.count, vm.memory.startup_gb) == (2, "Off", 2, 4)
    assert (host.kind, host.memory_gb, host.cpu.cores, host.hyperv_installed, vm.guest.hyperv_installed) == (
        "physical", 64, 16, True, False)


def test_fresh_dump_is_deterministic_ordered_and_leaves_out_defaults():
    lab = labfile.load("builtin:deep")
    lab.source = None
    text = labfile.dumps(lab)
    assert text == labfile.dumps(labfile.loads(text).copy())
    assert text.startswith("lab: deep\ndescription: ")
    assert "generation" not in text and "kind:" not in text  # defaults everywhere in deep.yaml
    first_vm = text[text.index("- name: L1"):]
    keys = [line.strip().split(":")[0] for line in first_vm.splitlines()[1:5]]
    assert keys == ["state", "processor", "memory", "adapters"]


def test_a_change_through_the_model_keeps_comments_and_key_order():
    lab = labfile.loads(COMMENTED)
    lab.update("HV01/L1", processor=Processor(count=8))
    text = labfile.dumps(lab)
    assert text == COMMENTED.replace("count: 4          # four vCPUs", "count: 8          # four vCPUs")


def test_values_back_to_default_keep_the_users_key_and_new_values_are_added_last():
    lab = labfile.loads(COMMENTED)
    lab.update("HV01/L1", processor=Processor(count=2), state="Running")
    lab.update("HV01", memory_gb=256)
    text = labfile.dumps(lab)
    assert "count: 2          # four vCPUs" in text
    assert "    memory_gb: 256         # the customer's value (the default, written anyway)\n" in text
    assert text.endswith("        adapters: [{switch: External}]\n        state: Running\n")
    assert labfile.loads(text) == lab


def test_added_and_removed_items_keep_the_other_items_comments():
    lab = labfile.loads(COMMENTED)
    owner = "HV01"
    new = lab.add(switch_id(owner, "Private1"), Switch(name="Private1", type="Private"))
    lab.link(owner, new, Edge.HAS)
    vhd = lab.add(vhd_id(owner, "D:\\VMs\\new.vhdx"), Vhd(path="D:\\VMs\\new.vhdx"))
    lab.link(owner, vhd, Edge.HAS)
    text = labfile.dumps(lab)
    assert "    # the switch the VM uses\n    switches:\n      - {name: External, type: External}\n      - {name: Private1, type: Private}\n" in text
    assert "    vhds:\n      - {path: 'D:\\VMs\\new.vhdx'}\n" in text
    assert labfile.loads(text) == lab
    lab.remove(new)
    assert "Private1" not in labfile.dumps(lab)


def test_save_without_a_path_writes_back_where_it_was_loaded(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    lab = labfile.load(path)
    lab.update("HV01/L1", processor=Processor(count=6))
    assert labfile.save(lab) == path
    assert "count: 6          # four vCPUs" in path.read_text(encoding="utf-8")
    assert lab.source == path.read_text(encoding="utf-8")


def test_atomic_write_leaves_no_temp_file(tmp_path):
    path = tmp_path / "lab.yaml"
    labfile.save(labfile.load("builtin:azure"), path)
    assert sorted(os.listdir(tmp_path)) == ["lab.yaml"]


def test_failed_write_does_not_clobber_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "lab.yaml"
    path.write_text("precious\n", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(labsave.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        labfile.save(labfile.load("builtin:azure"), path)
    assert path.read_text(encoding="utf-8") == "precious\n"
    assert sorted(os.listdir(tmp_path)) == ["lab.yaml"]


def test_save_keeps_file_mode(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    path.chmod(0o640)
    labfile.save(labfile.load(path))
    assert path.stat().st_mode & 0o777 == 0o640


def test_format_path():
    assert labfile.format_path(("hosts", 0, "vms", 1, "processor", "count")) == "hosts[0].vms[1].processor.count"
    assert labfile.format_path(()) == ""


def test_validate_accepts_text_path_and_builtin(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    assert labfile.validate(COMMENTED) == labfile.validate(path) == labfile.validate(str(path)) == []
    assert labfile.validate("builtin:reference") == []


TRICKY_YAML = """\
a: [Off, yes, No, ~, null, '', 010, 0o10, 0x1F, 1_000, 1.5e3, .inf, 2024-01-01, True, tRue, '10.0', 10.0, 'D:\\x', "a\\tb", .5, 'it''s']
b: {x: 1, 'C:': c}
c: |
  text
d:
g: 1:20
"""


def test_parse_reads_yaml_1_2():
    data = labfile.parse(TRICKY_YAML)
    assert data["a"][:9] == ["Off", "yes", "No", None, None, "", 10, 8, 31]
    assert data["a"][14:] == ["tRue", "10.0", 10.0, "D:\\x", "a\tb", 0.5, "it's"]
    assert data["g"] == "1:20" and data["c"] == "text\n" and data["d"] is None


@pytest.mark.skipif(labfile.C_LOADER is None, reason="ruamel.yaml[libyaml] (ruamel.yaml.clibz) is not installed")
def test_c_loader_reads_exactly_what_pure_ruamel_reads():
    from ruamel.yaml import YAML

    texts = [TRICKY_YAML] + [labfile.resolve(f"builtin:{n}").read_text(encoding="utf-8") for n in BUILTINS]
    for text in texts:
        assert labfile.C_LOADER(text).get_single_data() == YAML(typ="safe", pure=True).load(text)


@pytest.mark.skipif(labfile.C_LOADER is None, reason="ruamel.yaml[libyaml] (ruamel.yaml.clibz) is not installed")
def test_each_load_resolves_its_own_scalars_once_and_keeps_none_for_the_next(monkeypatch):
    """A plain scalar is resolved once per load (they repeat: Running, true, TCP), and nothing is
    kept from one load to the next: a second load of the same text costs what the first did."""
    from ruamel.yaml.resolver import VersionedResolver

    calls = []
    real = VersionedResolver.resolve

    def counted(self, kind, value, implicit):
        calls.append(value)
        return real(self, kind, value, implicit)

    monkeypatch.setattr(VersionedResolver, "resolve", counted)
    text = "a: [Running, Running, true, true, 10, 10, HV01]\nb: {x: Running}\n"
    per_load = []
    for _ in range(2):
        calls.clear()
        assert labfile.parse(text) == {"a": ["Running", "Running", True, True, 10, 10, "HV01"], "b": {"x": "Running"}}
        per_load.append(sorted(c for c in calls if c in ("Running", "true", "10", "HV01")))
    assert per_load[0] == per_load[1] == ["10", "HV01", "Running", "true"]


def test_what_libyaml_refuses_goes_to_ruamels_own_parser(monkeypatch):
    from ruamel.yaml.error import YAMLError

    class Refusing:
        def __init__(self, text):
            pass

        def get_event(self):
            raise YAMLError("refused")

        resolve = construct_object = get_event

    monkeypatch.setattr(labread, "C_LOADER", Refusing)  # where parse reads it
    assert labfile.parse("a: {t: 12:30}\n") == {"a": {"t": "12:30"}}


@pytest.mark.parametrize("text", [
    "lab: x\nhosts:\n- {name: HV01, memory_gb: 64.5, hyperv_installed: false, azure_size: null}\n",
    "a: [1, 2.0, true, ~, '3', Off, 0x1f]\nb: {c: {d: []}}\n",
    "a: &x {b: 1}\nc: *x\n",
])
def test_the_fast_construction_builds_what_ruamel_builds(text):
    from ruamel.yaml import YAML

    assert labfile.parse(text) == YAML(typ="safe", pure=True).load(text)


def test_the_fast_construction_refuses_duplicate_keys():
    from ruamel.yaml.error import YAMLError

    with pytest.raises(YAMLError, match="duplicate key"):
        labfile.parse("a: 1\nb: {c: 1, c: 2}\n")


def test_loading_restores_the_garbage_collector_even_on_bad_input():
    import gc

    assert gc.isenabled()
    labfile.loads(COMMENTED)
    assert gc.isenabled()
    with pytest.raises(labfile.BadInput):
        labfile.loads("lab: x\nhosts: 5\n")
    assert gc.isenabled()


_ALIKE_LAB = """
lab: alike
hosts:
  - name: HV01
    os: {caption: Microsoft Windows Server 2019 Datacenter, build: 17763}
    vms:
      - {name: a, processor: {count: 4}, memory: {startup_gb: 4}, services: [{port: 80}],
         guest: {os: {caption: Microsoft Windows Server 2019 Datacenter, build: 17763}}}
      - {name: b, processor: {count: 4}, memory: {startup_gb: 4}, services: [{port: 80}],
         guest: {os: {caption: Microsoft Windows Server 2019 Datacenter, build: 17763}}}
      - {name: c, processor: {count: 2}, memory: {startup_gb: 4.5}, services: [{port: 80}, {port: 443}],
         guest: {os: {caption: Microsoft Windows Server 2022 Datacenter, build: 20348}, hyperv_installed: true}}
"""


def test_equal_records_are_one_object_within_a_load_and_none_is_kept_for_the_next():
    """labmap._Alike: equal value records of one load (Guest, OSInfo, Processor, Memory, a Listener
    tuple) are one object, unequal ones stay apart; the next load makes its own."""
    lab = labfile.loads(_ALIKE_LAB)
    a, b, c = (lab[f"HV01/{name}"] for name in "abc")
    for part in ("guest", "processor", "memory", "services"):
        assert getattr(a, part) is getattr(b, part)
        assert getattr(a, part) != getattr(c, part)
    assert a.guest.os is lab["HV01"].os
    again = labfile.loads(_ALIKE_LAB)["HV01/a"]
    assert again == a and again.guest is not a.guest and again.processor is not a.processor


def test_equal_values_of_another_type_are_not_shared():
    """4 and 4.0 are equal but print differently: a record made from one is not given for the other."""
    from nestlab.simulator.labmap import _Alike
    from nestlab.simulator.model import Memory

    alike = _Alike()
    whole, floating = alike.record(Memory, {"startup_gb": 4}), alike.record(Memory, {"startup_gb": 4.0})
    assert whole == floating and whole is not floating and type(floating.startup_gb) is float
    assert alike.record(Memory, {"startup_gb": 4}) is whole
