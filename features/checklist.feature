@checklist
Feature: Troubleshooting checklist — the environment is set up for nested virtualization
  The guide's checklist: host is Windows Server 2016 or later, Windows 10 or Windows 11 Pro or
  Enterprise; host CPU supports VT-x (Intel) or AMD-V (AMD), hardware virtualization enabled in
  BIOS/UEFI; fully patch and update host and guest, latest Integration Services; no conflicting
  Group Policies or anti-virus blocking Hyper-V processes.

  @destructive
  Scenario Outline: <fault> on <subject> — the hypervisor does not run, so <vm> cannot start
    Given the lab "builtin:reference"
    And the fault "<fault>" on "<subject>"
    When an engineer runs "Stop-VM -Name '<vm>' -TurnOff" on "<subject>"
    And an engineer runs "Start-VM -Name '<vm>'" on "<subject>"
    Then it fails with "could not be started because the hypervisor is not running"
    When the diagnosis runs
    Then the finding "<fault>" names "<subject>"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then "Start-VM -Name '<vm>'" on "<subject>" succeeds
    And the diagnosis finds nothing

    @state
    Examples: Host CPU supports VT-x or AMD-V, hardware virtualization enabled in BIOS/UEFI
      | fault                               | subject | vm | resolution |
      | host-cpu-no-virtualization          | HV01    | L1 | CPU        |
      | virtualization-disabled-in-firmware | HV01    | L1 | BIOS/UEFI  |

    @cmd
    Examples: The hypervisor is installed but not launched (Get-NestedVirtStatus.ps1 checks it)
      | fault                      | subject | vm     | resolution                         |
      | hypervisor-launch-disabled | HV01    | L1     | bcdedit /set hypervisorlaunchtype auto |
      | hypervisor-launch-disabled | HV01/L1 | L2-web | bcdedit /set hypervisorlaunchtype auto |

  @destructive
  Scenario Outline: <fault> on <subject> — "<command>" shows <property> <value>
    Given the lab "builtin:reference"
    And the fault "<fault>" on "<subject>"
    When an engineer runs "<command>" on "<where>"
    Then its output shows "<property>" as "<value>"
    When the diagnosis runs
    Then the finding "<fault>" names "<subject>"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then "<command>" on "<where>" shows "<property>" as "<healed>"
    And the diagnosis finds nothing

    @state
    Examples: Host is Windows Server 2016 or later; fully patch and update host and guest
      | fault                         | subject | where | command                                          | property                 | value           | healed     | resolution |
      | host-os-unsupported           | HV01    | HV01  | Get-CimInstance -ClassName Win32_OperatingSystem | BuildNumber              | 9600            | 20348      | Upgrade HV01 to Windows Server 2022 |
      | outdated-integration-services | HV01/L1 | HV01  | Get-VM -Name 'L1'                                | IntegrationServicesState | Update required | Up to date | Install the latest Windows updates and integration services |

    @state
    Examples: No anti-virus blocking Hyper-V processes
      | fault                     | subject | where | command               | property | value   | healed  | resolution |
      | antivirus-blocking-hyperv | HV01    | HV01  | Get-Service -Name vmms | Status   | Stopped | Running | Exclude vmms.exe, vmwp.exe and vmcompute.exe |

    @cmd
    Examples: Sufficient memory assigned — static, not dynamic (Microsoft's nested virtualization page)
      | fault                  | subject | where | command                    | property             | value | healed | resolution                                            |
      | dynamic-memory-enabled | HV01/L1 | HV01  | Get-VMMemory -VMName 'L1' | DynamicMemoryEnabled | True  | False  | Set-VMMemory -VMName 'L1' -DynamicMemoryEnabled $false |

  Scenario Outline: The checklist on builtin:<lab> — every item passes or does not apply
    Given the lab "builtin:<lab>"
    When the checklist runs
    Then every checklist item passes or does not apply

    Examples:
      | lab       |
      | reference |
      | azure     |
      | deep      |

  @destructive
  Scenario Outline: <fault> on <subject> fails the checklist item "<item>"
    Given the lab "builtin:<lab>"
    And the fault "<fault>" on "<subject>"
    When the checklist runs
    Then the checklist item "<item>" is "fail"
    And the checklist item "<unaffected>" is "pass"

    @state
    Examples: Verify host compatibility
      | lab       | fault                               | subject | item     | unaffected |
      | reference | host-os-unsupported                 | HV01    | host-os  | host-cpu   |
      | reference | virtualization-disabled-in-firmware | HV01    | host-cpu | host-os    |

    @cmd
    Examples: Enable nested virtualization; CPU, memory, and resource allocation; check security and policy
      | lab       | fault                    | subject                         | item                    | unaffected       |
      | reference | extensions-not-exposed   | HV01/L1                         | extensions              | guest-generation |
      | reference | insufficient-vcpu        | HV01/L1                         | vcpu                    | extensions       |
      | reference | dynamic-memory-enabled   | HV01/L1                         | memory                  | vcpu             |
      | reference | switch-private           | HV01/L1:adapter:Network Adapter | external-switch         | host-cpu         |
      | legacy    | credential-guard-enabled | HV01                            | credential-device-guard | policy-antivirus |
