"""Column buffers for simulated records (plain numpy arrays, concatenated on demand)."""

from __future__ import annotations

import numpy as np

Records = dict[str, np.ndarray]


class RecordBuffer:
    """Collects batches of equally long numpy columns with fixed field names."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self._parts: dict[str, list[np.ndarray]] = {f: [] for f in fields}
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def add(self, **cols: np.ndarray) -> None:
        """Append one batch; every field must be given, scalars are broadcast."""
        n = max((np.size(v) for v in cols.values() if np.ndim(v) > 0), default=0)
        if n == 0:
            return
        for f in self.fields:
            v = np.asarray(cols[f])
            self._parts[f].append(np.broadcast_to(v, (n,)).astype(np.int64, copy=True))
        self._rows += n

    def take(self) -> Records:
        """Return everything collected so far and clear the buffer."""
        out = {
            f: (np.concatenate(p) if p else np.empty(0, dtype=np.int64))
            for f, p in self._parts.items()
        }
        self._parts = {f: [] for f in self.fields}
        self._rows = 0
        return out
