@storage
Feature: Snapshot/Checkpoint and differencing disk issues
  The guide's symptoms: snapshots disappear or can't be merged; merge operation fails with "The
  system cannot find the file specified (0x80070002)" or "The chain of virtual hard disks is broken
  (0xC03A000D)."
  Root causes: parent VHD file moved or deleted; hardware failure; broken differencing disk chain.
  L1's disk in builtin:reference is a checkpoint: D:\VMs\L1\L1_8F2A.avhdx on D:\VMs\L1\L1.vhdx.

  @destructive @state
  Scenario Outline: <fault> — the checkpoint can't be merged and L1 can't start until the resolution is applied
    Given the lab "builtin:reference"
    And the fault "<fault>" on "HV01:vhd:D:\VMs\L1\L1_8F2A.avhdx"
    When an engineer runs "Stop-VM -Name 'L1' -TurnOff" on "HV01"
    And an engineer runs "Merge-VHD -Path 'D:\VMs\L1\L1_8F2A.avhdx' -DestinationPath 'D:\VMs\L1\L1.vhdx'" on "HV01"
    Then it fails with "<symptom>"
    When the diagnosis runs
    Then the finding "<fault>" names "HV01:vhd:D:\VMs\L1\L1_8F2A.avhdx"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then "Start-VM -Name 'L1'" on "HV01" succeeds
    And the diagnosis finds nothing

    Examples: Parent VHD file moved or deleted; broken differencing disk chain
      | fault              | symptom                                                                                      | resolution |
      | vhd-parent-missing | The chain of virtual hard disks is broken                                                    | backup     |
      | vhd-parent-moved   | The chain of virtual hard disks is broken                                                    | Set-VHD -Path 'D:\VMs\L1\L1_8F2A.avhdx' -ParentPath |
      | vhd-chain-broken   | There is a mismatch in the identifiers of the parent virtual hard disk and differencing disk | backup     |

  @destructive @state
  Scenario: vhd-corrupt — hardware failure damaged the base disk
    Given the lab "builtin:reference"
    And the fault "vhd-corrupt" on "HV01:vhd:D:\VMs\L1\L1.vhdx"
    When an engineer runs "Stop-VM -Name 'L1' -TurnOff" on "HV01"
    And an engineer runs "Test-VHD -Path 'D:\VMs\L1\L1.vhdx'" on "HV01"
    Then it fails with "The file or directory is corrupted and unreadable"
    When the diagnosis runs
    Then the finding "vhd-corrupt" names "HV01:vhd:D:\VMs\L1\L1.vhdx"
    And its resolution includes "backup"
    When the resolution is applied
    Then "Test-VHD -Path 'D:\VMs\L1\L1.vhdx'" on "HV01" succeeds
    And "Start-VM -Name 'L1'" on "HV01" succeeds
    And the diagnosis finds nothing

  Scenario: The guide's PowerShell to check a chain shows the checkpoint's parent
    Given the lab "builtin:reference"
    When an engineer runs "Get-VHD -Path 'D:\VMs\L1\L1_8F2A.avhdx'" on "HV01"
    Then its output shows "VhdType" as "Differencing"
    And its output shows "ParentPath" as "D:\VMs\L1\L1.vhdx"
