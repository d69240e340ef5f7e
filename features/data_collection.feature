@data_collection
Feature: Data collection — the outputs the guide asks support to gather
  The guide: host and guest OS versions, build numbers; CPU type, RAM configuration; VM
  configuration (generation, CPUs, RAM, disks); virtual switch/network setup; and the PowerShell
  output of `Get-VM -Name <VMName> | fl *`, `Get-VMProcessor -VMName <VMName>` and
  `Get-VHD -Path <AVHDX path> | fl *`. Through a Session each command returns objects; `fl *`
  prints every property of them, so the scenarios check the objects carry Hyper-V's real names.

  Scenario Outline: "<command>" on <node> shows <properties>
    Given the lab "builtin:<lab>"
    When an engineer runs "<command>" on "<node>"
    Then its output shows the properties "<properties>"

    Examples: The guide's PowerShell output
      | lab       | node    | command                                | properties |
      | reference | HV01    | Get-VM -Name 'L1'                      | Name, State, Generation, Version, ProcessorCount, MemoryStartup, DynamicMemoryEnabled, IntegrationServicesVersion, Path |
      | reference | HV01    | Get-VMProcessor -VMName 'L1'           | VMName, Count, ExposeVirtualizationExtensions |
      | reference | HV01    | Get-VHD -Path 'D:\VMs\L1\L1_8F2A.avhdx' | Path, VhdFormat, VhdType, Size, ParentPath, DiskIdentifier |
      | reference | HV01/L1 | Get-VM -Name 'L2-web'                  | Name, State, Generation, ProcessorCount, MemoryStartup |
      | deep      | HV01/L1/L2 | Get-VMProcessor -VMName 'L3'        | VMName, Count, ExposeVirtualizationExtensions |

    Examples: System information, virtual switch and NAT setup
      | lab       | node    | command                                          | properties |
      | reference | HV01    | Get-CimInstance -ClassName Win32_OperatingSystem | Caption, Version, BuildNumber |
      | reference | HV01/L1 | Get-CimInstance -ClassName Win32_OperatingSystem | Caption, Version, BuildNumber |
      | reference | HV01    | Get-CimInstance -ClassName Win32_Processor       | Manufacturer, Name, NumberOfLogicalProcessors, VirtualizationFirmwareEnabled, SecondLevelAddressTranslationExtensions, VMMonitorModeExtensions |
      | reference | HV01    | Get-CimInstance -ClassName Win32_ComputerSystem  | TotalPhysicalMemory, HypervisorPresent |
      | reference | HV01/L1 | Get-VMSwitch                                     | Name, SwitchType |
      | reference | HV01/L1 | Get-NetNat                                       | Name, InternalIPInterfaceAddressPrefix |
      | azure     | AZ-NESTED01 | Get-VMNetworkAdapter -VMName 'web01'         | VMName, SwitchName, MacAddress, MacAddressSpoofing |

  Scenario Outline: "<command>" on <node> shows <name> <value>
    Given the lab "builtin:reference"
    When an engineer runs "<command>" on "<node>"
    Then its output shows "<name>" as "<value>"

    Examples:
      | node    | command                                 | name                           | value             |
      | HV01    | Get-VMProcessor -VMName 'L1'            | ExposeVirtualizationExtensions | True              |
      | HV01    | Get-VMProcessor -VMName 'L1'            | Count                          | 4                 |
      | HV01    | Get-VM -Name 'L1'                       | Generation                     | 2                 |
      | HV01    | Get-VM -Name 'L1'                       | State                          | Running           |
      | HV01    | Get-VHD -Path 'D:\VMs\L1\L1_8F2A.avhdx' | ParentPath                     | D:\VMs\L1\L1.vhdx |
      | HV01/L1 | Get-VMSwitch -Name 'NestedNAT'          | SwitchType                     | Internal          |

  Scenario Outline: The data-collection bundle holds "<command>" from <node>
    Given the lab "builtin:reference"
    When the data collection runs
    Then the bundle holds "<command>" from "<node>" showing "<shows>"

    Examples: PowerShell output, system information, at every level of the nesting
      | node       | command                                                     | shows                                 |
      | HV01       | Get-VM -Name L1 \| Format-List *                             | Generation : 2                        |
      | HV01       | Get-VMProcessor -VMName L1 \| Format-List *                  | ExposeVirtualizationExtensions : True |
      | HV01       | Get-VHD -Path D:\VMs\L1\L1_8F2A.avhdx \| Format-List *       | ParentPath : D:\VMs\L1\L1.vhdx        |
      | HV01/L1    | Get-VM -Name L2-web \| Format-List *                         | MemoryStartup : 2147483648            |
      | HV01/L1    | Get-VMSwitch                                                | NestedNAT                             |
      | HV01/L1    | Get-NetNat                                                  | 192.168.200.0/24                      |
      | HV01/L1    | systeminfo                                                  | OS Version                            |

  Scenario: The bundle names the guide's network traces but runs them only when asked
    Given the lab "builtin:reference"
    When the data collection runs
    Then the bundle lists "netsh trace start capture=yes scenario=Virtualization,NetConnection" from "HV01" without running it
    And the bundle lists "netsh trace start capture=yes scenario=NetConnection level=5 maxsize=1024" from "HV01" without running it
