"""Read a YAML file into plain data while remembering the line of every value.

Scalars stay text (so `10/6`, `08:00` and `2020-06-10` reach the validators as
written, never as YAML 1.1 sexagesimals or timestamps); only `null`/`~`/empty
become None. Errors are `ConfigError`s that point at `file:line`.

Hostile or damaged files are refused before they cost anything: aliases (`*name`), which
let a 600-byte file expand to billions of values ("billion laughs"), and which no
configuration of ours needs; nesting deeper than `MAX_DEPTH`; control characters (NUL,
C1 …), which an editor does not show (YAML would even count U+0085 as a line break).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader

Path_ = tuple[str | int, ...]
_NULL = "tag:yaml.org,2002:null"
MAX_DEPTH = 30  # a plan file nests 5 levels deep
# What YAML's reader refuses (C0 controls but tab, LF and CR; DEL; C1; U+FFFE, U+FFFF), and NEL.
_CONTROL = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class ConfigError:
    """One problem in the configuration: where, which field, what is wrong."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigInvalid(Exception):
    """The configuration has errors; nothing was applied."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def dotted(path: Path_) -> str:
    """`('obligations', 1, 'due')` → `obligations[1].due`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass
class YamlDocument:
    file: str
    data: Any
    lines: dict[Path_, int]

    def line_of(self, path: Path_) -> int:
        """The line of `path`, or of its nearest ancestor that exists in the file."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1

    def error(self, path: Path_, message: str) -> ConfigError:
        return ConfigError(self.file, self.line_of(path), dotted(path), message)


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], doc_file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if len(path) > MAX_DEPTH:
        raise ConfigInvalid(
            [
                ConfigError(
                    doc_file, lines[path], "", f"các mục lồng nhau quá {MAX_DEPTH} tầng; hãy kiểm tra lại tệp"
                )
            ]
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigInvalid(
                    [ConfigError(doc_file, key_node.start_mark.line + 1, dotted(path), "khóa phải là chữ")]
                )
            key = key_node.value
            if key in result:
                raise ConfigInvalid(
                    [
                        ConfigError(
                            doc_file,
                            key_node.start_mark.line + 1,
                            dotted((*path, key)),
                            "khóa bị lặp lại trong cùng một mục",
                        )
                    ]
                )
            result[key] = _build(value_node, (*path, key), lines, doc_file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, doc_file) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode) and node.tag == _NULL and not node.style:
        return None
    return node.value


def read_yaml(file: Path, display: str | None = None) -> YamlDocument:
    """Parse one YAML document; a syntax error becomes a ConfigError with its line."""
    name = display or str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigInvalid(
            [ConfigError(name, 1, "", f"tệp không phải UTF-8 (byte {exc.start}); hãy lưu lại với mã UTF-8")]
        ) from None
    if control := _CONTROL.search(text):
        start = text.rfind("\n", 0, control.start()) + 1
        raise ConfigInvalid(
            [
                ConfigError(
                    name,
                    text.count("\n", 0, start) + 1,
                    "",
                    f"ký tự điều khiển U+{ord(control[0]):04X} (không nhìn thấy) ở cột "
                    f"{control.start() - start + 1} không được phép trong tệp cấu hình; hãy xóa ký tự này "
                    "(thường lẫn vào khi sao chép từ văn bản khác hoặc khi lưu sai bảng mã)",
                )
            ]
        )
    try:
        _refuse_aliases(text, name)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigInvalid([ConfigError(name, line, "", f"lỗi cú pháp YAML: {exc.problem}")]) from None
    lines: dict[Path_, int] = {}
    data = {} if node is None else _build(node, (), lines, name)
    return YamlDocument(name, data, lines)


def _refuse_aliases(text: str, name: str) -> None:
    """Refuse `*name` (and `<<: *name`) where it is written, before anything is expanded."""
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise ConfigInvalid(
                [
                    ConfigError(
                        name,
                        event.start_mark.line + 1 if event.start_mark else 1,
                        "",
                        f"bí danh YAML '*{event.anchor}' không được dùng trong tệp cấu hình; "
                        "hãy viết đầy đủ giá trị tại chỗ",
                    )
                ]
            )
