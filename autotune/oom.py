"""Out-of-memory failures of a trial: recognised, and told in one line with the batch size.

A model or batch that does not fit the device raises deep inside the framework
(``torch.cuda.OutOfMemoryError``, a CPU allocator ``RuntimeError``, JAX's
``RESOURCE_EXHAUSTED``, Python's ``MemoryError``). The runner asks
:func:`is_out_of_memory` about any exception of setup or of the timed loop and records
an :class:`OutOfMemory` instead: stop reason ``out_of_memory``, a failed trial (target
not reached) that a search counts and moves past.
"""

from __future__ import annotations

__all__ = ["OutOfMemory", "is_out_of_memory"]

# Lower-case fragments of the messages allocators raise when memory runs out.
_MARKERS = (
    "out of memory",
    "not enough memory",
    "can't allocate memory",
    "cannot allocate memory",
    "failed to allocate",
    "resource_exhausted",
)


def is_out_of_memory(error: BaseException) -> bool:
    """True if ``error`` says the device (or host) ran out of memory."""
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return True
    if not isinstance(error, RuntimeError):
        return False
    text = str(error).lower()
    return any(marker in text for marker in _MARKERS)


def _first_line(error: BaseException, limit: int = 160) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class OutOfMemory(RuntimeError):
    """One line: where memory ran out, the global batch size tried, the allocator's words."""

    def __init__(self, error: BaseException, batch_size: int, phase: str) -> None:
        self.batch_size, self.phase = batch_size, phase
        super().__init__(
            f"out of memory during {phase} at global batch size {batch_size} "
            f"({type(error).__name__}: {_first_line(error)}); the model and batch do not fit "
            "this device: try a smaller batch size (get_batch_size) or more devices"
        )
        self.__cause__ = error  # the recorded traceback keeps the allocator's
