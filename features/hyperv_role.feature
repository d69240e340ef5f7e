@hyperv_role
Feature: Nested VM can't start Hyper-V role or install other hypervisors
  The guide's symptoms: errors when enabling or installing Hyper-V in a VM; "Hyper-V cannot be
  installed: The processor does not have required virtualization capabilities" or similar error
  messages; role installation fails without detailed errors.
  Root causes: virtualization extensions not exposed to the guest VM; guest VM isn't Generation 2
  or running unsupported OS/version; insufficient resources assigned.
  features/labs/fresh-nested-host.yaml is a new L1 before its role is installed; in
  builtin:reference L1 already runs Hyper-V and nested VMs, so there the symptom is that its
  nested VMs no longer start.

  Scenario: The guide's resolution, step by step, on a VM about to become a nested Hyper-V host
    Given the lab "features/labs/fresh-nested-host.yaml"
    When an engineer runs "Install-WindowsFeature -Name Hyper-V" in the guest of "HV01/L1"
    Then it fails with "Hyper-V cannot be installed: The processor does not have required virtualization capabilities"
    When an engineer triages "Hyper-V cannot be installed: The processor does not have required virtualization capabilities"
    Then the root cause named first is "extensions-not-exposed"
    When an engineer runs "Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $true" on "HV01"
    Then it fails with "Cannot change the processor settings of a virtual machine now"
    When an engineer runs "Stop-VM -Name 'L1'" on "HV01"
    And an engineer runs "Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $true" on "HV01"
    And an engineer runs "Start-VM -Name 'L1'" on "HV01"
    Then "Install-WindowsFeature -Name Hyper-V" in the guest of "HV01/L1" succeeds
    And the diagnosis finds nothing

  Scenario: Intent is evidence — a fresh L1 is not ready to host nested VMs until someone says it is meant to
    Given the lab "features/labs/fresh-nested-host.yaml"
    When the diagnosis runs
    Then the finding "extensions-not-exposed" names "HV01/L1"
    And its severity is "info"
    Given "L1" is meant to host nested VMs
    When the diagnosis runs
    Then the finding "extensions-not-exposed" names "HV01/L1"
    And its severity is "error"
    And its resolution includes "Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $true"

  Scenario: The ticket's error text places intent on the VM it was seen in
    Given the lab "features/labs/fresh-nested-host.yaml"
    And the customer saw "Hyper-V cannot be installed: The processor does not have required virtualization capabilities"
    When the diagnosis runs
    Then the finding "extensions-not-exposed" names "HV01/L1"
    And its severity is "error"

  Scenario Outline: Insufficient resources assigned — with <change> the role cannot be installed
    Given the lab "features/labs/fresh-nested-host.yaml"
    When an engineer runs "Stop-VM -Name 'L1'" on "HV01"
    And an engineer runs "Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $true" on "HV01"
    And an engineer runs "<change>" on "HV01"
    And an engineer runs "Start-VM -Name 'L1'" on "HV01"
    Then "Install-WindowsFeature -Name Hyper-V" in the guest of "HV01/L1" fails with "Hyper-V cannot be installed"
    When an engineer runs "Stop-VM -Name 'L1'" on "HV01"
    And an engineer runs "<remedy>" on "HV01"
    And an engineer runs "Start-VM -Name 'L1'" on "HV01"
    Then "Install-WindowsFeature -Name Hyper-V" in the guest of "HV01/L1" succeeds

    Examples: Ensure at least two virtual CPUs and ≥4GB RAM allocated
      | change                                      | remedy                                      |
      | Set-VMProcessor -VMName 'L1' -Count 1       | Set-VMProcessor -VMName 'L1' -Count 2       |
      | Set-VMMemory -VMName 'L1' -StartupBytes 2GB | Set-VMMemory -VMName 'L1' -StartupBytes 4GB |

  @destructive
  Scenario Outline: <fault> — L1's hypervisor cannot run, so its nested VMs do not start
    Given the lab "builtin:reference"
    And the fault "<fault>" on "HV01/L1"
    When an engineer runs "Stop-VM -Name 'L2-web' -TurnOff" in the guest of "HV01/L1"
    And an engineer runs "Start-VM -Name 'L2-web'" in the guest of "HV01/L1"
    Then it fails with "<message>"
    When the diagnosis runs
    Then the finding "<fault>" names "HV01/L1"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then "Start-VM -Name 'L2-web'" in the guest of "HV01/L1" succeeds
    And the diagnosis finds nothing

    @cmd
    Examples: Virtualization extensions not exposed to the guest VM
      | fault                  | resolution                                                         | message                                            |
      | extensions-not-exposed | Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $true | because one of the Hyper-V components is not running |

    @state
    Examples: Guest VM running unsupported OS/version
      | fault                | resolution          | message                                                  |
      | guest-os-unsupported | Windows Server 2016 | could not be started because the hypervisor is not running |

  @destructive @cmd
  Scenario Outline: <fault> — insufficient resources assigned to L1, which already runs Hyper-V
    Given the lab "builtin:reference"
    And the fault "<fault>" on "HV01/L1"
    When an engineer runs "Measure-NestedPerformance -VMName 'L1'" on "HV01"
    Then its output shows "Factors" including "<factor>"
    When the diagnosis runs
    Then the finding "<fault>" names "HV01/L1"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then "Measure-NestedPerformance -VMName 'L1'" on "HV01" shows "Factors" without "<factor>"
    And the diagnosis finds nothing

    Examples: Assign at least two virtual CPUs; recommended ≥ 4GB for the VM hosting nested VMs
      | fault               | factor | resolution                              |
      | insufficient-vcpu   | vcpu   | Set-VMProcessor -VMName 'L1' -Count     |
      | insufficient-memory | memory | Set-VMMemory -VMName 'L1' -StartupBytes |

  @destructive @state
  Scenario: vm-generation-1 — the guide asks for a Generation 2 VM, which cannot be converted
    Given the lab "builtin:reference"
    And the fault "vm-generation-1" on "HV01/L1"
    When an engineer runs "Get-VM -Name 'L1'" on "HV01"
    Then its output shows "Generation" as "1"
    When the diagnosis runs
    Then the finding "vm-generation-1" names "HV01/L1"
    And its severity is "warning"
    And its resolution includes "Generation 2"
    When the resolution is applied
    Then "Get-VM -Name 'L1'" on "HV01" shows "Generation" as "2"
    And the diagnosis finds nothing
