"""Stand-in for ``mlrun.platforms``: mount modifiers that steps ``.apply()`` (and flowc ignores)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MountModifier:
    """What ``auto_mount()`` & co. return; ``StepHandle.apply`` notes it as FC442."""

    name: str


def auto_mount(*_: Any, **__: Any) -> MountModifier:
    return MountModifier("auto_mount")


def mount_v3io(*_: Any, **__: Any) -> MountModifier:
    return MountModifier("mount_v3io")


def mount_pvc(*_: Any, **__: Any) -> MountModifier:
    return MountModifier("mount_pvc")


def mount_s3(*_: Any, **__: Any) -> MountModifier:
    return MountModifier("mount_s3")
