"""The command line's consoles.

They read no rich markup: whatever they print (a contact's name, a plan's title, a document's
text, a provider's error) shows as written, and a name such as `[/red]` cannot raise
`MarkupError` or restyle the output. Colour is given with `style=` or with `styled()`,
never with tags inside a string, which would be printed as they are.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, markup=False, highlight=False)


def styled(label: str, style: str, rest: str = "") -> Text:
    """`label` in `style`, followed by `rest` as it is."""
    return Text.assemble((label, style), rest)
