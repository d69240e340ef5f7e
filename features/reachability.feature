@reachability @network
Feature: Reachability — a flow walks hop by hop through switches, NAT and port forwarding
  The guide: "Only internal connectivity works (Host <-> Guest), not Host <-> Physical LAN <->
  Nested VM." A trace says where a flow stops and why, in a closed set of reasons.

  Scenario Outline: builtin:<lab> — <source> reaches <destination> on <protocol> port <port>
    Given the lab "builtin:<lab>"
    Then the trace from "<source>" to "<destination>" on <protocol> port <port> is delivered

    Examples: Outbound: nested VMs reach the physical LAN (NAT, or bridged with MAC spoofing)
      | lab       | source              | destination | protocol | port |
      | reference | HV01/L1/L2-web      | corp-lan    | TCP      | 443  |
      | reference | HV01/L1/L2-app      | corp-lan    | TCP      | 443  |
      | azure     | AZ-NESTED01/web01   | azure-vnet  | TCP      | 443  |
      | deep      | HV01/L1/L2/L3       | lab-lan     | TCP      | 443  |

    Examples: Inbound: the LAN reaches nested services (port forwarding, or bridged)
      | lab       | source     | destination   | protocol | port |
      | reference | corp-lan   | 10.20.0.50    | TCP      | 8080 |
      | reference | corp-lan   | 10.20.0.60    | TCP      | 443  |
      | azure     | azure-vnet | 10.1.0.4      | TCP      | 8080 |
      | deep      | lab-lan    | 172.16.10.70  | TCP      | 3389 |

  Scenario: Nothing listens where the flow arrives
    Given the lab "builtin:reference"
    Then the trace from "corp-lan" to "10.20.0.60" on TCP port 8443 stops at "HV01/L1/L2-app" because "no-listener"
