@resources
Feature: VM resource changes not recognized (for example, RAM increase)
  The guide's symptoms: VM doesn't detect increased RAM after configuration; no error, but resource
  remains at previous allocation.
  Root causes: configuration not applied/committed while VM was off; platform limitations (nested,
  cluster, or hot-add not supported).

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
      | memory-change-pending | reference | HV01/L1/L2-web | L2-web | HV01/L1    | 2147483648 | 4294967296 | Stop-VM -Name 'L2-web' |
      | memory-change-pending | deep      | HV01/L1/L2/L3  | L3     | HV01/L1/L2 | 4294967296 | 6442450944 | Stop-VM -Name 'L3' |

    @state
    Examples: Platform limitations (nested host: hot-add not supported)
      | fault               | lab       | vm      | name | parent | before      | after       | resolution |
      | hot-add-unsupported | reference | HV01/L1 | L1   | HV01   | 17179869184 | 19327352832 | Stop-VM -Name 'L1' |

  @destructive
  Scenario: The guide's resolution — power off the VM before resizing, start it, verify in the guest
    Given the lab "builtin:reference"
    When an engineer runs "Set-VMMemory -VMName 'L2-web' -StartupBytes 4GB" on "HV01/L1"
    And an engineer runs "Get-VM -Name 'L2-web'" on "HV01/L1"
    Then its output shows "MemoryAssigned" as "2147483648"
    When an engineer runs "Stop-VM -Name 'L2-web'" on "HV01/L1"
    And an engineer runs "Set-VMMemory -VMName 'L2-web' -StartupBytes 4GB" on "HV01/L1"
    And an engineer runs "Start-VM -Name 'L2-web'" on "HV01/L1"
    Then "Get-VM -Name 'L2-web'" on "HV01/L1" shows "MemoryAssigned" as "4294967296"
    And "Get-CimInstance -ClassName Win32_ComputerSystem" on "HV01/L1/L2-web" shows "TotalPhysicalMemory" as "4294967296"
