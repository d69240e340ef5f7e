@cases
Feature: Customer cases — every folder of fixtures/cases/ is a regression test
  A case folder holds a customer's lab file (its first line the one-line story), the root causes
  the diagnosis must report (`expected`) and the plausible wrong answers it must not (`unexpected`).
  Adding a case is adding a folder: these scenarios run once per folder.

  Scenario: The diagnosis names the case's root causes and none of the wrong ones
    Given the customer case
    And the symptoms the customer saw
    When the diagnosis runs
    Then the diagnosis finds every expected root cause of the case
    And the diagnosis finds none of the unexpected root causes of the case

  @destructive
  Scenario: Applying the resolutions heals the customer's lab
    Given the customer case
    And the symptoms the customer saw
    When the diagnosis runs
    And the resolution is applied
    Then the diagnosis finds nothing
