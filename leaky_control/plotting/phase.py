"""Phase portraits of closed loops (filled in by the pictures work)."""

__all__: list[str] = []
