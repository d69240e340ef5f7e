@customer
Feature: A customer's reproduction pasted into the feature
  A support engineer pastes the lab file that reproduces a customer's setup (from `nestlab
  capture`, `nestlab import`, or written by hand) straight into a scenario. No Python, no folder.

  Scenario: Contoso's 2012 R2 host cannot run nested Hyper-V however its VM is configured
    Given the lab:
      """
      lab: contoso-4711
      description: an old Windows Server 2012 R2 host whose L1 is set up exactly as the guide says
      hosts:
        - name: CONTOSO-HV2
          os: {caption: Microsoft Windows Server 2012 R2 Datacenter, build: 9600}
          cpu: {cores: 16}
          memory_gb: 96
          volumes:
            - {drive: "D:", media: ssd, size_gb: 1800, free_gb: 1000}
          networks:
            - {adapter: Ethernet0, network: contoso-lan, ip: 10.1.1.20/24, gateway: 10.1.1.1}
          switches:
            - {name: External, type: External, adapter: Ethernet0}
          vhds:
            - {path: 'D:\VMs\NEST1.vhdx', type: fixed, size_gb: 200}
          vms:
            - name: NEST1
              state: Running
              processor: {count: 4, expose_virtualization_extensions: true}
              memory: {startup_gb: 16}
              adapters:
                - {name: Network Adapter, switch: External, mac_spoofing: true, ip: 10.1.1.50/24}
              disks: ['D:\VMs\NEST1.vhdx']
              guest:
                hyperv_installed: false
      """
    When an engineer runs "Get-CimInstance -ClassName Win32_OperatingSystem" on "CONTOSO-HV2"
    Then its output shows "BuildNumber" as "9600"
    When the diagnosis runs
    Then the finding "host-os-unsupported" names "CONTOSO-HV2"
    And the diagnosis does not find "extensions-not-exposed"
    And the diagnosis does not find "insufficient-memory"

  @destructive
  Scenario: Fabrikam's nested test VM sits on a Private switch and reaches nothing
    Given the lab:
      """
      lab: fabrikam-private
      description: a nested VM someone connected to a Private switch inside L1
      hosts:
        - name: FAB-HV1
          memory_gb: 128
          volumes:
            - {drive: "D:", media: ssd, size_gb: 1800, free_gb: 1000}
          networks:
            - {adapter: Ethernet0, network: fab-lan, ip: 10.2.0.11/24, gateway: 10.2.0.1}
          switches:
            - {name: External, type: External, adapter: Ethernet0}
          vhds:
            - {path: 'D:\VMs\FAB-L1.vhdx', type: fixed, size_gb: 200}
          vms:
            - name: FAB-L1
              state: Running
              processor: {count: 4, expose_virtualization_extensions: true}
              memory: {startup_gb: 16}
              adapters:
                - {name: Network Adapter, switch: External, mac_spoofing: true, ip: 10.2.0.50/24}
              disks: ['D:\VMs\FAB-L1.vhdx']
              guest:
                hyperv_installed: true
                switches:
                  - {name: Isolated, type: Private}
                  - {name: NestedExternal, type: External, adapter: Network Adapter}
                vhds:
                  - {path: 'C:\VMs\test01.vhdx', type: fixed, size_gb: 40}
                vms:
                  - name: test01
                    state: Running
                    memory: {startup_gb: 2}
                    adapters: [{name: Network Adapter, switch: Isolated, ip: 10.2.0.70/24}]
                    disks: ['C:\VMs\test01.vhdx']
      """
    Then the trace from "FAB-HV1/FAB-L1/test01" to "fab-lan" on TCP port 443 stops at "FAB-HV1/FAB-L1" because "private-switch"
    When the diagnosis runs
    Then the diagnosis finds "switch-private"
    And its resolution includes "Connect-VMNetworkAdapter"
    When the resolution is applied
    Then the trace from "FAB-HV1/FAB-L1/test01" to "fab-lan" on TCP port 443 is delivered
    And the diagnosis finds nothing
