"""The generator's one range check, shared by its modules so every refusal reads alike."""

from __future__ import annotations


def check_within(name: str, value: float, low: float, high: float, unit: str = "") -> None:
    """Refuse a generator argument outside [low, high], naming it and its range."""
    if not low <= value <= high:
        raise ValueError(f"{name} must be within {low:g}..{high:g}{unit}, got {value}")
