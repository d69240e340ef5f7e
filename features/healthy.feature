@healthy
Feature: The builtin labs are healthy as shipped
  Every fault scenario starts from a builtin lab, so each one must be clean: nothing for the
  diagnosis to find, and what a person tries first works.

  Scenario Outline: builtin:<lab> — the diagnosis finds nothing
    Given the lab "builtin:<lab>"
    When the diagnosis runs
    Then the diagnosis finds nothing

    Examples:
      | lab       |
      | reference |
      | azure     |
      | deep      |
      | legacy    |

  Scenario Outline: builtin:<lab> — Hyper-V can be installed in every nested Hyper-V host
    Given the lab "builtin:<lab>"
    Then "Install-WindowsFeature -Name Hyper-V" in the guest of "<vm>" succeeds

    Examples:
      | lab       | vm         |
      | reference | HV01/L1    |
      | deep      | HV01/L1    |
      | deep      | HV01/L1/L2 |
      | legacy    | HV01/L1    |
      | legacy    | HV01/L1/L2 |
