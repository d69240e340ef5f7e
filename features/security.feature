@security
Feature: Nested Hyper-V installation or operation blocked by security policies
  The guide's symptoms: Hyper-V role installation blocked; errors referencing "Credential Guard" or
  "Device Guard"; "Virtualization-based security is enabled. Nested virtualization is not supported."
  Root causes: VBS, Credential Guard, Device Guard active in host or guest; Group Policies or
  registry settings prevent virtualization extensions.

  @destructive
  Scenario Outline: <fault> on <subject> — nested VMs below it cannot start until the resolution is applied
    Given the lab "builtin:<lab>"
    And the fault "<fault>" on "<subject>"
    When an engineer runs "Stop-VM -Name '<vm>' -TurnOff" on "<nested>"
    And an engineer runs "Start-VM -Name '<vm>'" on "<nested>"
    Then it fails with "Virtualization-based security is enabled. Nested virtualization is not supported."
    When the diagnosis runs
    Then the finding "<fault>" names "<subject>"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then "Start-VM -Name '<vm>'" on "<nested>" succeeds
    And the diagnosis finds nothing

    @cmd
    Examples: VBS, Credential Guard, Device Guard active in host or guest; registry settings
      | fault                       | lab       | subject | nested     | vm     | resolution |
      | vbs-enabled                 | reference | HV01    | HV01/L1    | L2-web | Restart-Computer |
      | vbs-enabled                 | deep      | HV01/L1 | HV01/L1/L2 | L3     | Restart-VM -Name 'L1' |
      | credential-guard-enabled    | reference | HV01    | HV01/L1    | L2-web | Restart-Computer |
      | device-guard-enabled        | deep      | HV01    | HV01/L1    | L2     | Restart-Computer |
      | deviceguard-registry-policy | reference | HV01    | HV01/L1    | L2-web | reg delete HKLM\System\CurrentControlSet\Control\DeviceGuard /v EnableVirtualizationBasedSecurity /f |

    @state
    Examples: Group Policies prevent virtualization extensions
      | fault                 | lab       | subject | nested  | vm     | resolution |
      | group-policy-blocking | reference | HV01    | HV01/L1 | L2-web | Group Policy |
