"""The BDD step library, loaded by the nestlab pytest plugin (nestlab.pytest_plugin) as pytest plugins.

`given` / `when` / `then` hold the steps; `target` the table of places a scenario runs (`--lab`);
`remedy` the diagnosis and its resolutions seen through a Session; `cases` the customer-case
folders; `markers` the tags; `vocabulary` renders the step list into features/README.md.
"""

STEP_MODULES = ("nestlab.steps.given", "nestlab.steps.when", "nestlab.steps.then")
