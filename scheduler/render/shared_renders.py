"""Messages that differ only by their link are rendered once.

A reminder goes out to every agency of a plan at the same time: 2,000 communes get the
same short text of the same deadline, each with its own confirmation link. Rendering it
2,000 times cost the dispatcher as much as recording the sends (bench/README.md), so
`Templates.render` keeps what it rendered, keyed by the values of the context names the
templates read, and puts each message's link in place of a marker.

Which names a template reads is known from its syntax tree: the free names of the file
and of every file it imports, includes or extends. A template that reads `agency` (the
e-mail, which greets the agency) still renders once per agency; the default `short.txt.j2`
reads only the deadline's fields, the plan's number and the link.

The marker stands for the link only where the link is printed as it is: every use of
`confirm_url` is `{{ confirm_url }}` or `{% if confirm_url %}`, outside macros and
filter or set blocks. Otherwise (or when a file is chosen at run time) nothing is kept.
`Templates` also renders its sample contexts both ways at load time and keeps nothing
for a kind whose results differ.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from dataclasses import Field, replace
from typing import Any, ClassVar, Protocol, TypeVar, cast

from jinja2 import Environment, TemplateError, meta, nodes
from markupsafe import escape

LINK = "confirm_url"
# ASCII, no space, dot or HTML character: survives tidying. Random for each process, so that no
# title or name can hold it and be replaced by the link.
MARKER = f"nhacviec-lien-ket-{secrets.token_hex(16)}"
UNSHAREABLE = (nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.AssignBlock)
MAX_KEPT = 5000  # renders kept; all forgotten when full (a day's reminders share a few hundred)


class Texts(Protocol):
    """What `with_link` changes: a dataclass of the five texts (`templates.Rendered`, which
    imports this module)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def short(self) -> str: ...
    @property
    def short_ascii(self) -> str: ...


RenderedT = TypeVar("RenderedT", bound=Texts)


def reads(env: Environment, name: str, trees: dict[str, nodes.Template]) -> frozenset[str] | None:
    """The context names template `name` and the files it uses read, if its link can be
    replaced by the marker; None otherwise. `trees`: the files parsed so far, by name."""
    seen: set[str] = set()
    names: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        if current not in trees:
            assert env.loader is not None
            try:  # e.g. `{% include "x.j2" ignore missing %}` of a file that is not there
                trees[current] = env.parse(env.loader.get_source(env, current)[0])
            except TemplateError:
                return None
        tree = trees[current]
        if not _link_printed_as_is(tree):
            return None
        for referenced in meta.find_referenced_templates(tree):
            if referenced is None:  # a file chosen at run time
                return None
            pending.append(referenced)
        names |= meta.find_undeclared_variables(tree)
    return frozenset(names)


def _link_printed_as_is(tree: nodes.Template) -> bool:
    uses = sum(node.name == LINK for node in tree.find_all(nodes.Name))
    if not uses:
        return True
    if any(True for _ in tree.find_all(UNSHAREABLE)):
        return False
    plain = 0
    for node in tree.find_all((nodes.Output, nodes.If)):
        children = node.nodes if isinstance(node, nodes.Output) else [cast(nodes.If, node).test]
        plain += sum(isinstance(child, nodes.Name) and child.name == LINK for child in children)
    return plain == uses


def key(kind: str, outputs: Collection[str], names: tuple[str, ...], context: Mapping[str, Any]) -> Any:
    """What the rendering of `outputs` depends on; None if a value cannot be a key."""
    values = tuple(bool(context.get(LINK)) if name == LINK else _frozen(context.get(name)) for name in names)
    result = (kind, tuple(outputs), values)
    try:
        hash(result)
    except TypeError:
        return None
    return result


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def with_marker(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context to render once for all links: the marker in place of the link, if any."""
    return {**context, LINK: MARKER} if context.get(LINK) else dict(context)


def with_link(rendered: RenderedT, link: str | None) -> RenderedT:
    """A `Rendered` made with the marker, with `link` in its place (escaped in HTML)."""
    if not link:
        return rendered
    return replace(
        rendered,
        subject=rendered.subject.replace(MARKER, link),
        text=rendered.text.replace(MARKER, link),
        html=rendered.html.replace(MARKER, str(escape(link))),
        short=rendered.short.replace(MARKER, link),
        short_ascii=rendered.short_ascii.replace(MARKER, link),
    )
