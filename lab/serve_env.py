"""The environment a served host reads its account from: `nestlab serve` (and so each fleet
container) takes the user from NESTLAB_USER and the password from NESTLAB_PASSWORD, never from
argv. Its own module so the fleet can name them without importing a CLI module."""

USER_ENV = "NESTLAB_USER"

# = nestlab.lab.psrp_session.PASSWORD_ENV, whose import costs pypsrp (tests/test_cli_startup.py keeps them equal)
PASSWORD_ENV = "NESTLAB_PASSWORD"
