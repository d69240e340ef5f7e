@security
Feature: Nested Hyper-V installation or operation blocked by security policies
  The guide's symptoms: Hyper-V role installation blocked; errors referencing "Credential Guard" or
  "Device Guard"; "Virtualization-based security is enabled. Nested virtualization is not supported."
  Root causes: VBS, Credential Guard, Device Guard active in host or guest; Group Policies or
  registry settings prevent virtualization extensions.
  The guide is older than Windows: VBS blocked nesting on Windows 10 1607 / Server 2016 (build
  14393) and earlier (Virtualization-Documentation #345) and does not since (PR #1059,
  windows-itpro-docs #2704). builtin:legacy is a Server 2016 lab, where the guide's symptom is real.

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
      | fault                       | lab    | subject | nested     | vm | resolution |
      | vbs-enabled                 | legacy | HV01    | HV01/L1    | L2 | Restart-Computer |
      | vbs-enabled                 | legacy | HV01/L1 | HV01/L1/L2 | L3 | Restart-VM -Name 'L1' |
      | credential-guard-enabled    | legacy | HV01    | HV01/L1    | L2 | Restart-Computer |
      | device-guard-enabled        | legacy | HV01    | HV01/L1    | L2 | Restart-Computer |
      | deviceguard-registry-policy | legacy | HV01    | HV01/L1    | L2 | reg delete HKLM\System\CurrentControlSet\Control\DeviceGuard /v EnableVirtualizationBasedSecurity /f |

    @state
    Examples: Group Policies prevent virtualization extensions
      | fault                 | lab    | subject | nested  | vm | resolution |
      | group-policy-blocking | legacy | HV01    | HV01/L1 | L2 | Group Policy |

  Scenario: Memory integrity on a Windows 11 host with a nested lab that runs is no root cause
    Given the lab:
      """
      lab: win11-hvci
      hosts:
        - name: WS01
          os: {caption: Microsoft Windows 11 Enterprise, build: 22631}
          memory_gb: 64
          security: {vbs: running, device_guard: true}
          volumes:
            - {drive: "C:", media: ssd, size_gb: 1000, free_gb: 600}
          networks:
            - {adapter: Ethernet, network: office, ip: 10.30.0.21/24, gateway: 10.30.0.1}
          switches:
            - {name: External, type: External, adapter: Ethernet}
          vhds:
            - {path: 'C:\VMs\L1.vhdx', type: fixed, size_gb: 127}
          vms:
            - name: L1
              state: Running
              processor: {count: 4, expose_virtualization_extensions: true}
              memory: {startup_gb: 12}
              adapters:
                - {name: Network Adapter, switch: External, mac_spoofing: true, ip: 10.30.0.50/24}
              disks: ['C:\VMs\L1.vhdx']
              guest:
                hyperv_installed: true
                volumes:
                  - {drive: "C:", media: ssd, size_gb: 127, free_gb: 60}
                switches:
                  - {name: External, type: External, adapter: Network Adapter}
                vhds:
                  - {path: 'C:\VMs\L2.vhdx', type: fixed, size_gb: 40}
                vms:
                  - name: L2
                    state: Running
                    memory: {startup_gb: 2}
                    adapters:
                      - {name: Network Adapter, switch: External, ip: 10.30.0.60/24}
                    disks: ['C:\VMs\L2.vhdx']
      """
    When an engineer runs "Start-VM -Name 'L2'" in the guest of "WS01/L1"
    Then it succeeds
    When the diagnosis runs
    Then the finding "device-guard-enabled" names "WS01"
    And its severity is "info"
    And the diagnosis finds nothing

  @destructive @cmd
  Scenario: VBS on a Windows Server 2016 host with the guide's symptom is the root cause
    Given the lab "builtin:legacy"
    And the fault "vbs-enabled" on "HV01"
    And the customer saw "Virtualization-based security is enabled. Nested virtualization is not supported."
    When an engineer runs "Start-VM -Name 'L2'" in the guest of "HV01/L1"
    Then it fails with "Virtualization-based security is enabled. Nested virtualization is not supported."
    When the diagnosis runs
    Then the finding "vbs-enabled" names "HV01"
    And its severity is "error"
