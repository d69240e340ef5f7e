@network
Feature: Network connectivity issues in nested VMs
  The guide's symptoms: nested VM can't access external network; only internal connectivity works
  (Host <-> Guest), not Host <-> Physical LAN <-> Nested VM; unreachable IP, failed ping, or
  application connectivity.
  Root causes: virtual switch configured as "Internal" or "Private"; NAT wrong configuration, port
  forwarding not set; Windows Firewall or security software blocking traffic.

  @destructive @cmd
  Scenario Outline: <fault> — <source> can't access the external network until the resolution is applied
    Given the lab "builtin:<lab>"
    And the fault "<fault>" on "<subject>"
    Then the trace from "<source>" to "<lan>" on TCP port 443 stops at "<stop>" because "<reason>"
    When the diagnosis runs
    Then the finding "<fault>" names "<subject>"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then the trace from "<source>" to "<lan>" on TCP port 443 is delivered
    And the diagnosis finds nothing

    Examples: Virtual switch configured as "Internal" or "Private"
      | fault          | lab       | subject                                | source         | lan      | stop    | reason          | resolution |
      | switch-internal | reference | HV01/L1:adapter:Network Adapter        | HV01/L1/L2-app | corp-lan | HV01    | internal-no-nat | Connect-VMNetworkAdapter -VMName 'L1' |
      | switch-private | reference | HV01/L1/L2-app:adapter:Network Adapter | HV01/L1/L2-app | corp-lan | HV01/L1 | private-switch  | Connect-VMNetworkAdapter -VMName 'L2-app' |
      | switch-private | deep      | HV01/L1/L2/L3:adapter:Network Adapter  | HV01/L1/L2/L3  | lab-lan  | HV01/L1/L2 | private-switch | Connect-VMNetworkAdapter -VMName 'L3' |

    Examples: An External switch in L1 needs MAC address spoofing on L1's adapter
      | fault                 | lab       | subject                            | source         | lan      | stop       | reason               | resolution |
      | mac-spoofing-disabled | reference | HV01/L1:adapter:Network Adapter    | HV01/L1/L2-app | corp-lan | HV01/L1    | mac-spoofing-dropped | Set-VMNetworkAdapter -VMName 'L1' -MacAddressSpoofing On |
      | mac-spoofing-disabled | deep      | HV01/L1/L2:adapter:Network Adapter | HV01/L1/L2/L3  | lab-lan  | HV01/L1/L2 | mac-spoofing-dropped | Set-VMNetworkAdapter -VMName 'L2' -MacAddressSpoofing On |

    Examples: NAT wrong configuration
      | fault               | lab       | subject                  | source            | lan        | stop        | reason              | resolution |
      | nat-prefix-mismatch | reference | HV01/L1:nat:NestedNAT    | HV01/L1/L2-web    | corp-lan   | HV01/L1     | nat-prefix-mismatch | New-NetNat -Name 'NestedNAT' -InternalIPInterfaceAddressPrefix '192.168.200.0/24' |
      | nat-prefix-mismatch | azure     | AZ-NESTED01:nat:LocalNAT | AZ-NESTED01/web01 | azure-vnet | AZ-NESTED01 | nat-prefix-mismatch | New-NetNat -Name 'LocalNAT' -InternalIPInterfaceAddressPrefix '192.168.100.0/24' |

  @destructive @cmd
  Scenario Outline: <fault> — the nested web server is unreachable from the LAN until the resolution is applied
    Given the lab "builtin:reference"
    And the fault "<fault>" on "HV01/L1"
    Then the trace from "corp-lan" to "10.20.0.50" on TCP port 8080 stops at "HV01/L1" because "<reason>"
    When the diagnosis runs
    Then the finding "<fault>" names "HV01/L1"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then the trace from "corp-lan" to "10.20.0.50" on TCP port <port> is delivered
    And the diagnosis finds nothing

    Examples: Port forwarding not set; Windows Firewall blocking traffic
      | fault             | reason           | port | resolution |
      | portproxy-missing | no-forward       | 8080 | netsh int portproxy add v4tov4 listenaddress=10.20.0.50 listenport=8080 connectaddress=192.168.200.10 connectport=80 |
      | firewall-blocking | firewall-blocked | 8080 | -Direction Inbound -Action Allow -Protocol TCP -LocalPort 8080 |
