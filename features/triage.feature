@triage
Feature: Triage — an error text or a symptom points to its root causes, most likely first
  A support engineer pastes what the customer saw: the guide's messages verbatim, a paraphrase, an
  event id or a hex code. Triage ranks the root causes and names the section (the findings'
  categories of spec/cli.md) to read first.

  Scenario Outline: "<text>" → <root_cause> (<category>)
    When an engineer triages "<text>"
    Then the root causes named include "<root_cause>"
    And the section named first is "<category>"

    Examples: The guide's messages, verbatim
      | text                                                                                            | root_cause             | category    |
      | Hyper-V cannot be installed: The processor does not have required virtualization capabilities   | extensions-not-exposed | hyperv-role |
      | Virtualization-based security is enabled. Nested virtualization is not supported.              | vbs-enabled            | security    |
      | Process cannot access the file because it is being used by another process                     | winnat-locked          | nat         |
      | The system cannot find the file specified (0x80070002)                                          | vhd-parent-missing     | storage     |
      | The chain of virtual hard disks is broken (0xC03A000D)                                          | vhd-parent-missing     | storage     |
      | Nested VM can't access external network.                                                        | switch-internal        | network     |
      | Unable to reach nested VMs from external networks.                                              | portproxy-missing      | nat         |
      | WinNAT service fails to start.                                                                  | winnat-locked          | nat         |
      | Snapshots disappear or can't be merged.                                                         | vhd-parent-missing     | storage     |
      | Nested VM is slow, lags, or fails to install operating systems and roles.                       | under-provisioned      | performance |
      | VM doesn't detect increased RAM after configuration.                                            | memory-change-pending  | resources   |

    Examples: Codes and paraphrases
      | text                                              | root_cause             | category    |
      | 0xC03A000D                                        | vhd-parent-missing     | storage     |
      | my nested vm has no internet                      | switch-internal        | network     |
      | errors referencing Credential Guard               | credential-guard-enabled | security  |

  Scenario: The first match for the guide's role error is the extensions not being exposed
    When an engineer triages "Hyper-V cannot be installed: The processor does not have required virtualization capabilities"
    Then the root cause named first is "extensions-not-exposed"
