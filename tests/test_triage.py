"""Triage: the guide's messages, their paraphrases, event ids and hex codes → ranked root causes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from nestlab.diagnosis.rules import RULES_BY_ID
from nestlab.diagnosis.triage import CHECKS, SYMPTOMS, triage
from nestlab.lab.cli import cli
from nestlab.simulator.errors import BadInput

# Every symptom line of the guide, verbatim, and the section (category) it belongs to.
GUIDE_MESSAGES = [
    ("Hyper-V cannot be installed: The processor does not have required virtualization capabilities", "hyperv-role"),
    ("Errors when enabling or installing Hyper-V in a VM.", "hyperv-role"),
    ("Role installation fails without detailed errors.", "hyperv-role"),
    ("Nested VM can't access external network.", "network"),
    ("Only internal connectivity works (Host <-> Guest), not Host <-> Physical LAN <-> Nested VM.", "network"),
    ("Unreachable IP, failed ping, or application connectivity.", "network"),
    ("Nested VM is slow, lags, or fails to install operating systems and roles.", "performance"),
    ("Disk and network I/O bottlenecks.", "performance"),
    ("High resource usage on host.", "performance"),
    ("Hyper-V role installation blocked.", "security"),
    ('Errors referencing "Credential Guard" or "Device Guard."', "security"),
    ("Virtualization-based security is enabled. Nested virtualization is not supported.", "security"),
    ("Unable to reach nested VMs from external networks.", "nat"),
    ("Process cannot access the file because it is being used by another process", "nat"),
    ("WinNAT service fails to start.", "nat"),
    ("Snapshots disappear or can't be merged.", "storage"),
    ("The system cannot find the file specified (0x80070002)", "storage"),
    ("The chain of virtual hard disks is broken (0xC03A000D)", "storage"),
    ("VM doesn't detect increased RAM after configuration.", "resources"),
    ("No error, but resource remains at previous allocation.", "resources"),
]


@pytest.mark.parametrize("message,category", GUIDE_MESSAGES)
def test_each_guide_message_maps_to_its_section(message, category):
    result = triage(message)
    assert result.matches, message
    assert result.matches[0].category == category
    assert result.matches[0].score == pytest.approx(1.0, abs=0.05)
    assert result.categories[0][0] == category


@pytest.mark.parametrize("query,top", [
    ("Hyper-V cannot be installed: The processor does not have required virtualization capabilities", "extensions-not-exposed"),
    ("Install-WindowsFeature : A prerequisite check for the Hyper-V feature failed.", "extensions-not-exposed"),
    ("Virtual machine 'L2-web' could not be started because the hypervisor is not running.", "extensions-not-exposed"),
    ("Hypervisor launch has been disabled through the hypervisorlaunchtype bcdedit setting.", "hypervisor-launch-disabled"),
    ("System error 32 has occurred. The process cannot access the file because it is being used by another process.",
     "winnat-locked"),
    ("New-NetNat : The parameter is incorrect.", "nat-conflict"),
    ("The chain of virtual hard disks is corrupted. There is a mismatch in the identifiers of the parent virtual hard "
     "disk and differencing disk.", "vhd-chain-broken"),
])
def test_product_messages_rank_their_cause_first(query, top):
    assert triage(query).matches[0].root_cause == top


@pytest.mark.parametrize("query,top", [
    ("3112", "extensions-not-exposed"),
    ("event 41", "extensions-not-exposed"),
    ("Event ID 5 in the System log", "hypervisor-launch-disabled"),
    ("event 7023", "winnat-locked"),
    ("VMMS 19100", "vhd-parent-missing"),
    ("0xC03A000D", "vhd-parent-missing"),
    ("error 0xc03a000e", "vhd-chain-broken"),
    ("0x80070002", "vhd-parent-missing"),
    ("WslRegisterDistribution failed with error: 0x80370102", "extensions-not-exposed"),
])
def test_event_ids_and_hex_codes(query, top):
    result = triage(query)
    assert result.matches[0].root_cause == top
    assert any(word in result.matches[0].why for word in ("event", "hex code", "message"))


def test_a_small_number_is_an_event_only_when_it_says_so():
    assert all("event" not in m.why for m in triage("192.168.0.41 does not answer").matches)
    assert all("event" not in m.why for m in triage("I have 41 VMs").matches)
    assert "event 41" in triage("event 41").matches[0].why


@pytest.mark.parametrize("query,category", [
    ("my nested VM has no internet access", "network"),
    ("nested vm gets a 169.254 address", "network"),
    ("port forwarding to the nested VM does not work", "nat"),
    ("the nested VM is really sluggish", "performance"),
    ("I added RAM but the VM doesn't see the added memory", "resources"),
    ("credential guard blocks hyper-v", "security"),
    ("checkpoint merge fails", "storage"),
])
def test_paraphrases(query, category):
    result = triage(query)
    assert result.matches and result.matches[0].category == category
    assert result.matches[0].score < 1.0  # a paraphrase is never as sure as the message itself


def test_naming_a_cause_in_plain_words():
    assert triage("mac spoofing").matches[0].root_cause == "mac-spoofing-disabled"
    assert triage("dynamic memory").matches[0].root_cause == "dynamic-memory-enabled"


def test_scores_are_ranked_and_bounded():
    for symptom in SYMPTOMS:
        for message in symptom.messages:
            scores = [m.score for m in triage(message).matches]
            assert scores == sorted(scores, reverse=True)
            assert all(0 < s <= 1 for s in scores)


def test_unrelated_text_matches_nothing():
    assert triage("the printer is out of paper").matches == ()


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_bad_input(text):
    with pytest.raises(BadInput):
        triage(text)


def test_every_symptom_names_real_causes_and_every_cause_has_checks():
    for symptom in SYMPTOMS:
        assert set(symptom.causes) <= set(RULES_BY_ID), symptom.id
    assert set(CHECKS) == set(RULES_BY_ID)
    assert {c for s in SYMPTOMS for c in s.causes} == set(RULES_BY_ID)  # every cause is reachable from some text


def test_checks_follow_the_matches():
    result = triage("0xC03A000E")
    assert result.checks[0] in CHECKS["vhd-chain-broken"]


def test_cli_json_shape_and_exit_code():
    out = CliRunner().invoke(cli, ["triage", "The chain of virtual hard disks is broken (0xC03A000D)", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["query"] == "The chain of virtual hard disks is broken (0xC03A000D)"
    assert set(data["matches"][0]) == {"root_cause", "category", "score", "why"}
    assert data["matches"][0]["root_cause"] == "vhd-parent-missing"


def test_cli_no_match_still_exits_0():
    out = CliRunner().invoke(cli, ["triage", "the printer is out of paper"])
    assert out.exit_code == 0 and "No known symptom" in out.output


def test_cli_empty_text_exits_2_with_one_line():
    out = CliRunner().invoke(cli, ["triage", " "])
    assert out.exit_code == 2
    assert out.output.strip().count("\n") == 0 and "empty" in out.output
