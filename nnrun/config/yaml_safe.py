"""Parsing YAML that anyone may have written, with bounded work and a clear error for every refusal.

``parse_yaml(text, source)`` composes the document once (pure-Python safe loader, nesting checked while
composing so a 5,000-deep file never reaches Python's recursion limit), walks the node graph once to
record the line of every key path and to refuse what nnrun never accepts, then constructs the data from
the same nodes. The walk follows aliases as a reader of the data would, so a "billion laughs" document
(aliases of aliases) is refused after a bounded number of steps instead of being expanded in memory.

Refused, each with a :class:`ConfigError` naming the source, the key path and the line:

- files over ``max_bytes`` (:data:`MAX_CONFIG_BYTES`, 1 MB, for a config);
- nesting deeper than :data:`MAX_DEPTH` levels (aliases included);
- aliases that expand to more than :data:`MAX_ALIAS_NODES` values beyond those written in the file;
- an alias inside the node it refers to (``a: &a [*a]``);
- tags other than YAML's standard ones (``!!python/...`` would build Python objects; ``!foo`` is unknown);
- keys that are not plain values (``? [a, b]``), and integers longer than :data:`MAX_INT_DIGITS` digits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from nnrun.errors import ConfigError, Problem

KeyPath = tuple[str | int, ...]

MAX_CONFIG_BYTES = 1_000_000
MAX_DEPTH = 100
MAX_ALIAS_NODES = 100_000
MAX_INT_DIGITS = 100

_STD = "tag:yaml.org,2002:"
_VALUE_TAGS = frozenset(tag for tag in yaml.SafeLoader.yaml_constructors if tag is not None)
_KEY_TAGS = _VALUE_TAGS | {_STD + "merge", _STD + "value"}


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, counting the nodes it composes and refusing nesting deeper than ``MAX_DEPTH``."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source, self.depth, self.n_nodes = source, 0, 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        self.n_nodes += 1
        if self.depth > MAX_DEPTH:
            line = self.peek_event().start_mark.line + 1
            raise ConfigError(
                [Problem("", f"nested deeper than {MAX_DEPTH} levels; a config is a few levels deep", line)],
                self.source,
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse_yaml(
    text: str, source: str, max_bytes: int = MAX_CONFIG_BYTES
) -> tuple[Any, dict[KeyPath, int], list[Problem]]:
    """The data, a map from key paths to 1-based line numbers, and the duplicate keys as problems.

    Raises ``ConfigError`` (naming ``source``) for invalid YAML and for everything this module refuses.
    """
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise _too_large(max_bytes, source)
    try:
        loader = _BoundedLoader(text, source)
    except yaml.YAMLError as e:  # a character YAML does not allow, found before parsing starts
        raise _yaml_error(e, source, "not valid YAML", text) from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as e:
            raise _yaml_error(e, source, "not valid YAML", text) from None
        if node is None:
            return None, {}, []
        walker = _Walker(source, budget=loader.n_nodes + MAX_ALIAS_NODES)
        walker.walk(node, (), frozenset())
        try:
            data = loader.construct_document(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as e:
            raise _yaml_error(e, source, "cannot read a value", text) from None
        return data, walker.lines, walker.problems
    finally:
        loader.dispose()


def parse_value(text: str, key: str, source: str) -> Any:
    """One value typed on the command line (``--set KEY=VALUE``, ``--param KEY=V1,V2``), parsed within the
    same limits as a file; a ConfigError names ``key`` and ``source`` (the option)."""
    try:
        data, _, _ = parse_yaml(text, source)
    except ConfigError as e:
        shown = text if len(text) <= 60 else text[:57] + "..."
        where = [f"item {p.path}: " if p.path else "" for p in e.problems]
        problems = [Problem(key, f"the value {shown!r}: {w}{p.message}") for w, p in zip(where, e.problems)]
        raise ConfigError(problems, source) from None
    return data


def read_yaml_text(path: str | os.PathLike[str], max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The UTF-8 text of ``path``, refusing (ConfigError) a file larger than ``max_bytes`` before reading it.

    ``OSError`` and ``UnicodeDecodeError`` reach the caller, which knows how to word them.
    """
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes, str(path))
    return data.decode("utf-8")


def load_yaml_file(path: str | os.PathLike[str], max_bytes: int = MAX_CONFIG_BYTES) -> Any:
    """The data in the YAML file ``path``, read and parsed within the limits above; any problem is a ConfigError."""
    source = str(path)
    try:
        if not Path(path).is_file():  # a named pipe would block the read forever
            what = "is not a regular file" if Path(path).exists() else "does not exist"
            raise ConfigError([Problem("", f"the file {what}")], source)
        text = read_yaml_text(path, max_bytes)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([Problem("", f"cannot read the file: {e}")], source) from None
    data, _, problems = parse_yaml(text, source, max_bytes)
    if problems:
        raise ConfigError(problems, source)
    return data


class _Walker:
    """One walk over the composed nodes, aliases followed: lines, duplicate keys, and the refusals."""

    def __init__(self, source: str, budget: int) -> None:
        self.source, self.budget, self.visited = source, budget, 0
        self.lines: dict[KeyPath, int] = {}
        self.problems: list[Problem] = []

    def fail(self, path: KeyPath, message: str, node: yaml.Node) -> ConfigError:
        return ConfigError([Problem(_dotted(path), message, node.start_mark.line + 1)], self.source)

    def walk(self, node: yaml.Node, path: KeyPath, ancestors: frozenset[int]) -> None:
        self.visited += 1
        if self.visited > self.budget:
            raise self.fail(
                path,
                f"aliases (*name) expand to more than {MAX_ALIAS_NODES:,} values beyond those written in the "
                "file (an alias bomb?); write the values out, or use fewer aliases",
                node,
            )
        if len(path) > MAX_DEPTH:
            raise self.fail(path[:MAX_DEPTH], f"nested deeper than {MAX_DEPTH} levels (through aliases)", node)
        self.check_tag(node, path, _VALUE_TAGS)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STD + "int" and len(node.value) > MAX_INT_DIGITS:
                raise self.fail(
                    path, f"an integer of {len(node.value):,} characters; nnrun accepts at most {MAX_INT_DIGITS}", node
                )
            return
        inside = ancestors | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.lines[(*path, i)] = item.start_mark.line + 1
                self.child(item, (*path, i), inside)
            return
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(
                    path,
                    f"a key that is a {'list' if isinstance(key_node, yaml.SequenceNode) else 'mapping'} "
                    "(written '? ...' or '{[...]: ...}'); keys must be plain names",
                    key_node,
                )
            self.check_tag(key_node, path, _KEY_TAGS)
            key, line = key_node.value, key_node.start_mark.line + 1
            if key in seen:
                self.problems.append(
                    Problem(_dotted((*path, key)), f"duplicate key (first given on line {seen[key]})", line)
                )
            seen[key] = line
            self.lines[(*path, key)] = line
            self.child(value_node, (*path, key), inside)

    def child(self, node: yaml.Node, path: KeyPath, ancestors: frozenset[int]) -> None:
        if id(node) in ancestors:
            raise self.fail(
                path,
                "an alias (*name) that refers to a node containing itself; the data would be "
                "infinite. Write the value out",
                node,
            )
        self.walk(node, path, ancestors)

    def check_tag(self, node: yaml.Node, path: KeyPath, allowed: frozenset[str]) -> None:
        if node.tag in allowed:
            return
        tag = "!!" + node.tag.removeprefix(_STD) if node.tag.startswith(_STD) else node.tag
        if node.tag.startswith(_STD + "python/"):
            why = "it would build a Python object, which nnrun never does from a config"
        else:
            why = "nnrun knows only YAML's standard types (strings, numbers, booleans, null, lists, mappings)"
        raise self.fail(path, f"the tag {tag} is not allowed: {why}. Remove the tag", node)


def _yaml_error(e: Exception, source: str, what: str, text: str) -> ConfigError:
    mark = getattr(e, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    if isinstance(e, yaml.reader.ReaderError):
        line, problem = text.count("\n", 0, e.position) + 1, f"{e.reason} (character #x{e.character:04X})"
    else:
        parts = [getattr(e, "context", None), getattr(e, "problem", None)]
        problem = ", ".join(p for p in parts if p) or str(e)
    return ConfigError([Problem("", f"{what}: {problem}", line)], source)


def _too_large(max_bytes: int, source: str) -> ConfigError:
    message = f"the file is larger than {_size(max_bytes)}, the most nnrun reads here (a config is a few KB)"
    return ConfigError([Problem("", message)], source)


def _dotted(path: KeyPath) -> str:
    parts = [str(p) for p in path]
    if len(parts) > 8:  # a path a hundred levels deep says no more than its ends
        parts = [*parts[:4], f"...({len(parts) - 6} more)...", *parts[-2:]]
    return ".".join(parts)


def _size(n: int) -> str:
    return f"{n / 1_000_000:g} MB" if n >= 1_000_000 else f"{n:,} bytes"


__all__ = ["MAX_CONFIG_BYTES", "load_yaml_file", "parse_value", "parse_yaml", "read_yaml_text"]
