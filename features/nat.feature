@nat
Feature: NAT and port forwarding issues
  The guide's symptoms: unable to reach nested VMs from external networks; "Process cannot access
  the file because it is being used by another process" when starting NAT driver; WinNAT service
  fails to start.
  Root causes: incorrect static mapping of ports; conflicting NAT configuration; WinNAT file lock.

  @destructive @cmd
  Scenario Outline: <fault> — unable to reach nested VMs from external networks until the resolution is applied
    Given the lab "builtin:<lab>"
    And the fault "<fault>" on "<subject>"
    Then the trace from "<lan>" to "<address>" on TCP port 8080 stops at "<stop>" because "wrong-forward-target"
    When the diagnosis runs
    Then the finding "<fault>" names "<subject>"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then the trace from "<lan>" to "<address>" on TCP port 8080 is delivered
    And the diagnosis finds nothing

    Examples: Incorrect static mapping of ports (a portproxy rule to the wrong address or port)
      | fault                    | lab       | subject                  | lan        | address    | stop              | resolution |
      | nat-static-mapping-wrong | reference | HV01/L1:nat:NestedNAT    | corp-lan   | 10.20.0.50 | HV01/L1           | netsh int portproxy add v4tov4 listenaddress=10.20.0.50 listenport=8080 connectaddress=192.168.200.10 connectport=80 |
      | nat-static-mapping-wrong | azure     | AZ-NESTED01:nat:LocalNAT | azure-vnet | 10.1.0.4   | AZ-NESTED01       | netsh int portproxy add v4tov4 listenaddress=10.1.0.4 listenport=8080 connectaddress=192.168.100.10 connectport=80 |

  @destructive @cmd
  Scenario Outline: nat-conflict on <subject> — conflicting NAT configuration leaves WinNAT unable to translate
    Given the lab "builtin:<lab>"
    And the fault "nat-conflict" on "<subject>"
    Then the trace from "<vm>" to "<lan>" on TCP port 443 stops at "<subject>" because "winnat-down"
    When the diagnosis runs
    Then the finding "nat-conflict" names "<subject>"
    And its resolution includes "Remove-NetNat"
    When the resolution is applied
    Then the trace from "<vm>" to "<lan>" on TCP port 443 is delivered
    And the diagnosis finds nothing

    Examples:
      | lab       | subject     | vm                | lan        |
      | reference | HV01/L1     | HV01/L1/L2-web    | corp-lan   |
      | azure     | AZ-NESTED01 | AZ-NESTED01/web01 | azure-vnet |

  @destructive @state
  Scenario Outline: winnat-locked on <subject> — WinNAT service fails to start: the file is in use
    Given the lab "builtin:<lab>"
    And the fault "winnat-locked" on "<subject>"
    When an engineer runs "net start winnat" on "<subject>"
    Then it fails with "Process cannot access the file because it is being used by another process"
    And the trace from "<vm>" to "<lan>" on TCP port 443 stops at "<subject>" because "winnat-down"
    When the diagnosis runs
    Then the finding "winnat-locked" names "<subject>"
    And its resolution includes "<resolution>"
    When the resolution is applied
    Then the trace from "<vm>" to "<lan>" on TCP port 443 is delivered
    And the diagnosis finds nothing

    Examples: WinNAT file lock
      | lab       | subject     | vm                | lan        | resolution |
      | reference | HV01/L1     | HV01/L1/L2-web    | corp-lan   | Start-Service -Name WinNat |
      | azure     | AZ-NESTED01 | AZ-NESTED01/web01 | azure-vnet | Start-Service -Name WinNat |
