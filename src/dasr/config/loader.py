"""Building a ``Config`` in layers: schema defaults, a named preset, YAML files, ``--set`` pairs.

Each layer is checked against the types the schema declares while it is applied, so a mistake is
reported with its key, what the key accepts and which layer supplied it, and the result is always
a fully typed ``Config`` that saves to YAML and loads back equal.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from dasr.config.schema import Config
from dasr.errors import DasrError
from dasr.files.atomic import PathLike, atomic_write

PRESETS_DIR = Path(__file__).parent / "presets"


def list_presets() -> list[str]:
    """The YAML files shipped in ``presets/``: adding a file adds a preset, nothing else to edit."""
    return sorted(path.stem for path in PRESETS_DIR.glob("*.yaml"))


def load_config(
    preset: str = "paper", files: Sequence[PathLike] = (), overrides: Sequence[str] = ()
) -> Config:
    """Defaults, then ``preset``, then each file, then each ``key=value`` override, in order."""
    if preset not in list_presets():
        raise DasrError(f"unknown preset '{preset}'; available presets: {', '.join(list_presets())}")
    config = Config()
    _apply_preset(config, preset, ())
    for path in files:
        _apply(config, _read_yaml(Path(path)), "", f"file '{path}'")
    for text in overrides:
        _apply(config, _parse_override(text), "", f"--set {text}")
    return config


def _apply_preset(config: Config, name: str, derived: tuple[str, ...]) -> None:
    """A preset, after the preset its ``base:`` key names, so that a per-data-set preset states
    only what differs from the preset it refines (the chain is followed, cycles are refused)."""
    data = dict(_read_yaml(PRESETS_DIR / f"{name}.yaml"))
    base = data.pop("base", None)
    if base is not None:
        if base not in list_presets() or base in derived or base == name:
            raise DasrError(f"preset '{name}': base '{base}' is not another known preset")
        _apply_preset(config, base, (*derived, name))
    _apply(config, data, "", f"preset '{name}'")


def read_config(path: PathLike) -> Config:
    """A saved ``config.yaml`` (missing keys take their defaults, as in any other file)."""
    return config_from_dict(_read_yaml(Path(path)), f"file '{path}'")


def config_to_dict(config: Config) -> dict[str, Any]:
    """Nested plain dicts, lists and scalars: what YAML and JSON write without tags."""
    return _plain(config)


def config_from_dict(data: Mapping[str, Any], source: str | None = None) -> Config:
    """Checked like a file (``source`` names it in messages), so a dict from a checkpoint cannot
    smuggle in an ill-typed value."""
    config = Config()
    _apply(config, data, "", source)
    return config


def save_config(config: Config, path: PathLike) -> None:
    """Atomic, so a run killed while saving never leaves a half-written configuration behind."""
    text = yaml.safe_dump(config_to_dict(config), sort_keys=False, default_flow_style=None)
    with atomic_write(path, "w") as handle:
        handle.write(text)


def flat_config(config: Config) -> dict[str, Any]:
    """Every value by its dotted key (``srn.lr``), in schema order."""
    return dict(_flatten(config_to_dict(config)))


def diff_configs(a: Config, b: Config) -> list[str]:
    """Dotted keys whose values differ, in schema order."""
    flat_a, flat_b = flat_config(a), flat_config(b)
    return [key for key in flat_a if flat_a[key] != flat_b[key]]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, value in data.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        raise DasrError(f"config file '{path}' does not exist") from None
    except OSError as error:
        raise DasrError(f"config file '{path}' cannot be read: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "syntax error"
        raise DasrError(f"config file '{path}' is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise DasrError(f"config file '{path}' must hold a mapping of config keys, not {_show(data)}")
    return data


def _parse_override(text: str) -> dict[str, Any]:
    """``a.b=v`` becomes ``{"a": {"b": v}}`` so that overrides and files share one validator."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise DasrError(f"--set expects key=value, got '{text}'")
    try:
        value: Any = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise DasrError(f"--set {key.strip()}: value '{raw}' is not valid YAML") from None
    for name in reversed(key.strip().split(".")):
        value = {name: value}
    return value


def _apply(target: object, data: Mapping[str, Any], prefix: str, source: str | None) -> None:
    """Validate ``data`` against ``target``'s dataclass and assign it, recursing into sections."""
    types_ = typing.get_type_hints(type(target))
    for name, value in data.items():
        key = f"{prefix}{name}"
        if name not in types_:
            raise DasrError(_unknown_key(str(name), prefix, list(types_), source))
        declared = types_[name]
        if dataclasses.is_dataclass(declared):
            if value is None:  # a section whose keys are all commented out
                continue
            if not isinstance(value, Mapping):
                raise DasrError(_wrong(key, "a mapping of keys", value, source))
            _apply(getattr(target, name), value, f"{key}.", source)
        else:
            setattr(target, name, _coerce(value, declared, key, source))


def _coerce(value: Any, declared: Any, key: str, source: str | None) -> Any:
    """``value`` as the declared type, or a ``DasrError`` saying what the key accepts."""
    origin, args = typing.get_origin(declared), typing.get_args(declared)
    if origin is Literal:
        for choice in args:
            if type(value) is type(choice) and value == choice:
                return choice
    elif origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option, key, source)
            except DasrError:
                pass
    elif origin is tuple:
        if isinstance(value, (list, tuple)) and len(value) == len(args):
            try:
                return tuple(_coerce(item, arg, key, source) for item, arg in zip(value, args, strict=True))
            except DasrError:  # report the whole list's expected form, not one item's
                pass
    elif declared in (bool, int, str):
        if isinstance(value, declared) and not (declared is int and isinstance(value, bool)):
            return value
    elif declared is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            # PyYAML follows YAML 1.1, which reads ``1e-4`` (no dot) as a string.
            try:
                return float(value)
            except ValueError:
                pass
    else:
        raise TypeError(f"schema type {declared!r} of '{key}' is not supported by the loader")
    raise DasrError(_wrong(key, _describe(declared), value, source))


def _describe(declared: Any) -> str:
    origin, args = typing.get_origin(declared), typing.get_args(declared)
    if origin is Literal:
        return "one of " + ", ".join(_show(choice) for choice in args)
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _describe(a) for a in args)
    if origin is tuple:
        return f"a list of {len(args)} items ({', '.join(_describe(a) for a in args)})"
    return {bool: "true or false", int: "an int", float: "a number", str: "a string"}[declared]


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _where(source: str | None) -> str:
    return f" (from {source})" if source else ""


def _wrong(key: str, expected: str, value: Any, source: str | None) -> str:
    return f"config key '{key}' must be {expected}, got {_show(value)}{_where(source)}"


def _unknown_key(name: str, prefix: str, valid: list[str], source: str | None) -> str:
    section = f" in '{prefix[:-1]}'" if prefix else ""
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f"did you mean '{prefix}{close[0]}'? " if close else ""
    return (
        f"unknown config key '{prefix}{name}'{_where(source)}; {hint}"
        f"valid keys{section}: {', '.join(valid)}"
    )
