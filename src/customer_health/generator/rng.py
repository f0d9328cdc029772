"""Random streams keyed by (seed, block of accounts, stream name).

Accounts are simulated in fixed blocks of ``BLOCK_SIZE`` consecutive accounts. Every draw
for a block comes from that block's own generator for the named stream, consumed day by
day, so a block's data never depends on how many days are generated, on the chunk size or
on the other blocks.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np

BLOCK_SIZE = 50

Draw = Callable[[np.random.Generator, int, int], np.ndarray]


class BlockStreams:
    """Per-block generators for the blocks of one chunk."""

    def __init__(self, seed: int, blocks: Sequence[int]) -> None:
        self._seed = int(seed)
        self._blocks = [int(b) for b in blocks]
        self._cache: dict[str, list[np.random.Generator]] = {}

    @property
    def n_blocks(self) -> int:
        return len(self._blocks)

    def _gens(self, name: str) -> list[np.random.Generator]:
        gens = self._cache.get(name)
        if gens is None:
            key = zlib.crc32(name.encode("utf-8"))
            gens = [
                np.random.Generator(np.random.PCG64(np.random.SeedSequence([self._seed, b, key])))
                for b in self._blocks
            ]
            self._cache[name] = gens
        return gens

    def draw(self, name: str, bounds: np.ndarray, fn: Draw, dtype: type) -> np.ndarray:
        """Concatenate ``fn(gen, lo, hi)`` over the blocks; ``bounds`` are block offsets."""
        gens = self._gens(name)
        parts = [
            fn(g, int(bounds[b]), int(bounds[b + 1]))
            for b, g in enumerate(gens)
            if bounds[b + 1] > bounds[b]
        ]
        if not parts:
            return np.empty(0, dtype=dtype)
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts)

    def uniform(self, name: str, bounds: np.ndarray, k: int = 0) -> np.ndarray:
        """Uniform [0, 1) draws, shape (n,) or (n, k)."""
        if k:
            out = self.draw(name, bounds, lambda g, lo, hi: g.random((hi - lo, k)), float)
            return out.reshape(-1, k)
        return self.draw(name, bounds, lambda g, lo, hi: g.random(hi - lo), float)

    def normal(self, name: str, bounds: np.ndarray, k: int = 0) -> np.ndarray:
        """Standard normal draws, shape (n,) or (n, k)."""
        if k:
            out = self.draw(name, bounds, lambda g, lo, hi: g.standard_normal((hi - lo, k)), float)
            return out.reshape(-1, k)
        return self.draw(name, bounds, lambda g, lo, hi: g.standard_normal(hi - lo), float)

    def poisson(self, name: str, lam: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        """Poisson draws with element-wise means."""
        return self.draw(
            name, bounds, lambda g, lo, hi: g.poisson(lam[lo:hi]).astype(np.int64), np.int64
        )

    def binomial(self, name: str, n: np.ndarray, p: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        """Binomial draws with element-wise trials and probabilities."""
        return self.draw(
            name,
            bounds,
            lambda g, lo, hi: g.binomial(n[lo:hi], p[lo:hi]).astype(np.int64),
            np.int64,
        )


def split_bounds(sorted_owner: np.ndarray, owner_bounds: np.ndarray) -> np.ndarray:
    """Block offsets of rows whose (sorted) owner index falls in each owner block."""
    return np.searchsorted(sorted_owner, owner_bounds, side="left")
