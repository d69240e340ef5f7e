"""`python -m nestlab …` is the `nestlab` command."""

from nestlab.lab.cli import main

raise SystemExit(main())
