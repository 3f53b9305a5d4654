"""Networks by name, so that configurations and checkpoints can say which one they mean.

A network class (or any factory returning an ``nn.Module``) registers itself with
``@register_arch("name")`` where it is defined; ``build_arch`` turns a name from a configuration
into a module. Importing ``dasr.archs`` imports every module that registers something.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch import nn

from dasr.errors import DasrError

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])

_ARCHS: dict[str, Callable[..., nn.Module]] = {}


def register_arch(name: str) -> Callable[[Builder], Builder]:
    """Decorator registering a network class or factory under ``name``."""

    def register(builder: Builder) -> Builder:
        if name in _ARCHS:
            raise ValueError(f"architecture {name!r} is already registered by {_ARCHS[name]!r}")
        _ARCHS[name] = builder
        return builder

    return register


def build_arch(name: str, **kwargs: object) -> nn.Module:
    """The network registered as ``name``, built with ``kwargs``."""
    if name not in _ARCHS:
        raise DasrError(f"unknown architecture {name!r}; valid names: {', '.join(list_archs())}")
    return _ARCHS[name](**kwargs)


def list_archs() -> list[str]:
    """The registered names, sorted."""
    return sorted(_ARCHS)
