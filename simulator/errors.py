"""The one exception that means "your input is wrong": the CLI prints it as one line, exit 2."""


class BadInput(Exception):
    """Bad input from a person or a peer (lab file, argument, text import, network answer).

    `str()` is the whole message: one line per problem, each saying what and where.
    """

    def __init__(self, message: str, *, lines: list[str] | None = None) -> None:
        self.lines = lines or [message]
        super().__init__("\n".join(self.lines))
