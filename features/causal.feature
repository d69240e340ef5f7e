@causal
Feature: Several faults at once — causes come first and explain their consequences
  A lab seldom breaks in one place. The diagnosis must name every cause it can see, put the ones
  furthest up the chain first (a host before its VMs), and mark a finding that another one accounts
  for as explained by it instead of piling up unrelated errors (spec/cli.md: findings are sorted by
  severity, then by how far up the chain they sit). What it cannot see yet — a guest that cannot
  run — shows up once the cause above it is fixed.

  @destructive @cmd
  Scenario: A host-level cause comes before a VM-level one
    Given the lab "builtin:legacy"
    And the fault "mac-spoofing-disabled" on "HV01/L1:adapter:Network Adapter"
    And the fault "vbs-enabled" on "HV01"
    When the diagnosis runs
    Then the finding "vbs-enabled" names "HV01"
    And the finding "mac-spoofing-disabled" names "HV01/L1:adapter:Network Adapter"
    And the finding "vbs-enabled" comes before "mac-spoofing-disabled"
    When the resolution is applied
    Then the diagnosis finds nothing

  @destructive @cmd
  Scenario: Credential Guard runs on virtualization-based security: one cause, not two errors
    Given the lab "builtin:legacy"
    And the fault "credential-guard-enabled" on "HV01"
    When the diagnosis runs
    Then the finding "credential-guard-enabled" names "HV01"
    And the finding "vbs-enabled" is explained by "credential-guard-enabled"
    And the finding "credential-guard-enabled" comes before "vbs-enabled"
    When the resolution is applied
    Then "Start-VM -Name 'L2'" in the guest of "HV01/L1" succeeds
    And the diagnosis finds nothing

  @destructive @state @cmd
  Scenario Outline: <cause> explains <consequence>; fixing the cause first, then what is left
    Given the lab "builtin:<lab>"
    And the fault "<cause>" on "<cause_subject>"
    And the fault "<consequence>" on "<consequence_subject>"
    When the diagnosis runs
    Then the finding "<cause>" names "<cause_subject>"
    And the finding "<consequence>" is explained by "<cause>"
    And the finding "<cause>" comes before "<consequence>"
    When the resolution is applied
    And the diagnosis runs
    And the resolution is applied
    Then the diagnosis finds nothing

    Examples: A host with too little RAM is overcommitted; a nested Hyper-V host cannot hot-add memory
      | lab       | cause               | cause_subject | consequence           | consequence_subject |
      | reference | host-memory-low     | HV01          | host-overcommitted    | HV01/L1             |
      | legacy    | hot-add-unsupported | HV01/L1/L2    | memory-change-pending | HV01/L1/L2/L3       |

  @destructive @state @cmd
  Scenario: A host without VT-x hides what is wrong below it until the CPU is fixed
    Given the lab "builtin:reference"
    And the fault "host-cpu-no-virtualization" on "HV01"
    And the fault "extensions-not-exposed" on "HV01/L1"
    When the diagnosis runs
    Then the finding "host-cpu-no-virtualization" names "HV01"
    And the diagnosis does not find "extensions-not-exposed"
    When the resolution is applied
    And an engineer runs "Start-VM -Name 'L1'" on "HV01"
    And the diagnosis runs
    Then the finding "extensions-not-exposed" names "HV01/L1"
    When the resolution is applied
    Then "Start-VM -Name 'L2-web'" in the guest of "HV01/L1" succeeds
    And the diagnosis finds nothing

  @destructive @state @cmd
  Scenario: Three levels deep, three sections at once: every injected fault is found and healed
    (The slow disk is wherever the catalog finds one first: the diagnosis is checked against what was injected.)
    Given the lab "builtin:deep"
    And the fault "extensions-not-exposed" on "HV01/L1/L2"
    And the fault "mac-spoofing-disabled" on "HV01/L1:adapter:Network Adapter"
    And the fault "slow-storage"
    When the diagnosis runs
    Then the diagnosis finds every injected fault
    And the diagnosis finds "slow-storage"
    And the finding "mac-spoofing-disabled" comes before "extensions-not-exposed"
    And the trace from "HV01/L1/L2" to "lab-lan" on TCP port 443 stops at "HV01/L1" because "mac-spoofing-dropped"
    When the resolution is applied
    Then the trace from "HV01/L1/L2/L3" to "lab-lan" on TCP port 443 is delivered
    And the diagnosis finds nothing
