"""Nyquist plots with the circle-criterion disk (filled in by the pictures work)."""

__all__: list[str] = []
