@performance
Feature: Performance degradation in nested virtualization
  The guide's symptoms: nested VM is slow, lags, or fails to install operating systems and roles;
  disk and network I/O bottlenecks; high resource usage on host.
  Root causes: under-provisioned resources (CPU, RAM, disk); overcommitted host resources;
  outdated host/hypervisor drivers; bandwidth limitations due to virtual switch configuration.
  The simulator's performance model (`Measure-NestedPerformance`, simulator only) scores a nested
  VM and names the factors that cost most.

  @destructive
  Scenario Outline: <fault> on <subject> — <vm> is slow, and the cost is "<factor>"
    (The dynamic-vhd fault moves L2-web onto a dynamic copy of its disk, L2-web-dynamic.vhdx, which the finding names.)
    Given the lab "builtin:reference"
    And the fault "<fault>" on "<subject>"
    When an engineer runs "Measure-NestedPerformance -VMName '<vm>'" on "<where>"
    Then its output shows "Factors" including "<factor>"
    When the diagnosis runs
    Then the finding "<fault>" names "<found>"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then "Measure-NestedPerformance -VMName '<vm>'" on "<where>" shows "Factors" without "<factor>"
    And the diagnosis finds nothing

    @cmd
    Examples: Under-provisioned resources; overcommitted host; bandwidth limitations; resource-intensive neighbours
      | fault              | subject                               | found                                         | vm     | where   | factor          | resolution |
      | under-provisioned  | HV01/L1                               | HV01/L1                                       | L1     | HV01    | memory          | -VMName 'L1' |
      | host-overcommitted | HV01/L1                               | HV01/L1                                       | L2-web | HV01/L1 | overcommit-cpu  | Rebalance |
      | dynamic-vhd        | HV01/L1:vhd:C:\VMs\L2-web\L2-web.vhdx | HV01/L1:vhd:C:\VMs\L2-web\L2-web-dynamic.vhdx | L2-web | HV01/L1 | vhd-type        | Convert-VHD -Path 'C:\VMs\L2-web\L2-web-dynamic.vhdx' |
      | bandwidth-limited  | HV01/L1:adapter:Network Adapter       | HV01/L1:adapter:Network Adapter               | L1     | HV01    | bandwidth-cap   | Set-VMNetworkAdapter -VMName 'L1' -MaximumBandwidth 0 |
      | noisy-neighbor     | HV01/L1                               | HV01/L1                                       | L2-web | HV01/L1 | noisy-neighbour | Stop-VM -Name |

    @state
    Examples: RAM for the host (≥ 8 GB); SSD-based storage for host and guest disks
      | fault           | subject                               | found                                 | vm     | where   | factor        | resolution |
      | host-memory-low | HV01                                  | HV01                                  | L1     | HV01    | host-memory   | RAM        |
      | slow-storage    | HV01/L1:vhd:C:\VMs\L2-app\L2-app.vhdx | HV01/L1:vhd:C:\VMs\L2-app\L2-app.vhdx | L2-app | HV01/L1 | storage-media | SSD        |
