@resources
Feature: VM resource changes not recognized (for example, RAM increase)
  The guide's symptoms: VM doesn't detect increased RAM after configuration; no error, but resource
  remains at previous allocation.
  Root causes: configuration not applied/committed while VM was off; platform limitations (nested,
  cluster, or hot-add not supported).
  Since Windows Server 2016 a running Windows Server 2016 / Windows 10 guest with static memory
  takes a memory change at once ("What's new in Hyper-V on Windows Server"); the guide's symptom is
  real on older guests (L3 of builtin:legacy runs Windows Server 2012 R2) and on nested hosts.

  @destructive
  Scenario Outline: <fault> on <vm> — no error, but the resource remains at its previous allocation
    Given the lab "builtin:<lab>"
    And the fault "<fault>" on "<vm>"
    When an engineer runs "Get-VM -Name '<name>'" on "<parent>"
    Then its output shows "MemoryAssigned" as "<before>"
    When the diagnosis runs
    Then the finding "<fault>" names "<vm>"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then "Get-VM -Name '<name>'" on "<parent>" shows "MemoryAssigned" as "<after>"
    And the diagnosis finds nothing

    @cmd
    Examples: Configuration not applied/committed while VM was off
      | fault                 | lab       | vm             | name   | parent     | before     | after      | resolution |
      | memory-change-pending | legacy    | HV01/L1/L2/L3  | L3     | HV01/L1/L2 | 4294967296 | 6442450944 | Stop-VM -Name 'L3' |

    @state
    Examples: Platform limitations (nested host: hot-add not supported)
      | fault               | lab       | vm      | name | parent | before      | after       | resolution |
      | hot-add-unsupported | reference | HV01/L1 | L1   | HV01   | 17179869184 | 19327352832 | Stop-VM -Name 'L1' |

  @destructive
  Scenario: The guide's resolution — power off the VM before resizing, start it, verify in the guest
    Given the lab "builtin:legacy"
    When an engineer runs "Set-VMMemory -VMName 'L3' -StartupBytes 6GB" on "HV01/L1/L2"
    And an engineer runs "Get-VM -Name 'L3'" on "HV01/L1/L2"
    Then its output shows "MemoryAssigned" as "4294967296"
    When an engineer runs "Stop-VM -Name 'L3'" on "HV01/L1/L2"
    And an engineer runs "Set-VMMemory -VMName 'L3' -StartupBytes 6GB" on "HV01/L1/L2"
    And an engineer runs "Start-VM -Name 'L3'" on "HV01/L1/L2"
    Then "Get-VM -Name 'L3'" on "HV01/L1/L2" shows "MemoryAssigned" as "6442450944"
    And "Get-CimInstance -ClassName Win32_ComputerSystem" on "HV01/L1/L2/L3" shows "TotalPhysicalMemory" as "6442450944"

  Scenario: Runtime memory resize — a Windows Server 2016+ guest with static memory takes the change at once
    Given the lab "builtin:reference"
    When an engineer runs "Set-VMMemory -VMName 'L2-web' -StartupBytes 4GB" on "HV01/L1"
    Then "Get-VM -Name 'L2-web'" on "HV01/L1" shows "MemoryAssigned" as "4294967296"
    And "Get-CimInstance -ClassName Win32_ComputerSystem" on "HV01/L1/L2-web" shows "TotalPhysicalMemory" as "4294967296"
    And the diagnosis finds nothing

  Scenario: A VM that hosts nested VMs refuses a runtime memory change
    Given the lab "builtin:reference"
    Then "Set-VMMemory -VMName 'L1' -StartupBytes 20GB" on "HV01" fails with "Failed to modify device 'Memory'"
