"""The Jinja sandbox the message templates run in: bounded `*`, `**` and `+`, and the shortcuts
that keep a render fast (a part imported "with context" evaluated once per message)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

from jinja2 import Template
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import missing

_DICT_ATTRIBUTES = frozenset(dir(dict))  # what `getattr` finds on a plain dict

# Within one `Templates.render` call: the parts imported "with context", by file name, with the
# context they were evaluated in.
imported_parts: ContextVar[dict[str | None, tuple[dict[str, Any], Any]] | None] = ContextVar(
    "imported", default=None
)


class _Template(Template):
    """A template that, imported "with context" again in the same context during one
    `Templates.render` call, gives the module it gave the first time.

    Each output of a message imports `_chung.j2` "with context", and Jinja evaluates such an
    import anew every time: three times per e-mail, ~17 µs each. A part's module depends only
    on the context it is evaluated in (templates have no side effects), so within one message
    it is evaluated once; an import that passes locals of its own is evaluated as usual.
    """

    def make_module(
        self,
        vars: dict[str, Any] | None = None,
        shared: bool = False,
        locals: Mapping[str, Any] | None = None,
    ) -> Any:
        imported = imported_parts.get()
        if imported is None or not shared or any(value is not missing for value in (locals or {}).values()):
            return super().make_module(vars, shared, locals)
        earlier = imported.get(self.name)
        if earlier is not None and earlier[0] == vars:
            return earlier[1]
        module = super().make_module(vars, shared, locals)
        imported[self.name] = (dict(vars or {}), module)
        return module


MAX_LENGTH = 100_000  # of a string or list that `*` or `+` makes in a template
MAX_POWER_BITS = 4096  # of an integer that `**` makes
_SEQUENCES = (str, list, tuple)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse, before it is computed, a value that would fill the memory: `'a' * 300000000`,
    `7 ** 99999999`, or a string doubled with `a + a` over and over."""
    length = None
    if operator == "*":
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, _SEQUENCES) and isinstance(count, int):
                length = len(sequence) * count
    elif operator == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            length = len(left) + len(right)
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        bits = (abs(left).bit_length() - 1) * right  # about the result's size; 0 for 0, 1 and -1
        if bits > MAX_POWER_BITS:
            raise SecurityError(
                f"phép lũy thừa '**' tạo ra số quá lớn (khoảng {_number(bits)} bit, "
                f"giới hạn {_number(MAX_POWER_BITS)})"
            )
    if length is not None and length > MAX_LENGTH:
        name = "nhân" if operator == "*" else "cộng"
        raise SecurityError(
            f"phép {name} '{operator}' tạo ra chuỗi hoặc danh sách dài {_number(length)}, "
            f"quá giới hạn {_number(MAX_LENGTH)}"
        )


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


class Sandbox(SandboxedEnvironment):
    """The sandbox, with `_Template`s, bounded `*`, `**` and `+` (`_check_binop`), and two
    shortcuts that give the same results.

    - A template's globals are a plain dict. Jinja's default is a ChainMap over the
      environment's globals, which it copies key by key (in Python) into every render and
      every import "with context": ~3 µs each, up to six times per e-mail. Nothing changes
      the globals once the templates are loaded (Jinja's own advice), so a copy made at load
      time reads the same.
    - `agency.name` on a dict of the context: Jinja tries the attribute first, which for a
      name that is no attribute of dict fails with an exception, then the item. Going straight
      to the item gives the same value; a fifth of the time of a short text went to those
      exceptions.
    """

    template_class = _Template
    intercepted_binops = frozenset({"*", "**", "+"})  # no constant folding at compile time either

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)
