"""Realistic defects in raw extracts, each recorded with the reason staging will give it.

A row is selected when a hash of (seed, table, primary key) falls below the defect rate, so
the selection does not depend on chunking, batching or the number of generated days. Each
selected row gets exactly one defect, of a kind chosen uniformly among the kinds that apply
to the row, on a column chosen uniformly among the columns that apply.

Two kinds break a table's own rules: a CSM activity's play that is not in the playbook
(``unknown_play``) and its completion moved before its start (``completed_before_started``).

Duplicates are extra copies of the clean row. Damaging defects are made in place, except in
tables that other tables reference (accounts, contracts, users, invoices, features), where
they come as an extra, corrupt copy of the row so the valid original stays. Key columns are
never damaged, except ``account_id`` by ``unknown_account`` where it is part of the key
(feature usage); ``row_key`` always holds the clean row's key values joined with ``|``.
"""

from __future__ import annotations

import zlib
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_health.generator.contract import LOADED_AT, Table
from customer_health.generator.extract import Extract
from customer_health.generator.fmt import Formatter, join

KINDS: tuple[str, ...] = (
    "exact_duplicate",
    "near_duplicate",
    "null_required",
    "unparseable",
    "negative",
    "future_timestamp",
    "unknown_account",
    "non_utc_offset",
    "unknown_play",
    "completed_before_started",
)
DAMAGING = frozenset(
    {
        "null_required",
        "unparseable",
        "negative",
        "future_timestamp",
        "unknown_account",
        "unknown_play",
        "completed_before_started",
    }
)
DEFECT_COLUMNS: tuple[str, ...] = (
    "table_name",
    "defect_kind",
    "column_name",
    "expected_reason",
    "row_key",
    "original_value",
    "injected_value",
)
DEFECT_SCHEMA = pa.schema([(name, pa.string()) for name in DEFECT_COLUMNS])

UNPARSEABLE: dict[str, tuple[str, ...]] = {
    "timestamp": ("2024-13-45T25:61:00Z", "05/03/2024", "n/a", "yesterday 14:00"),
    "date": ("2024-02-30", "05/03/2024", "n/a", "2024-13-01"),
    "int": ("twelve", "12,5", "n/a", "1O"),
    "decimal": ("12,5", "n/a", "twelve", "1.234,50"),
    "bool": ("maybe", "n/a", "unknown"),
}
OFFSETS: tuple[tuple[str, int], ...] = (
    ("+05:30", 19_800),
    ("-04:00", -14_400),
    ("+02:00", 7_200),
    ("-07:00", -25_200),
    ("+09:00", 32_400),
    ("+01:00", 3_600),
    ("-03:00", -10_800),
    ("+10:00", 36_000),
)

NO_FUTURE: frozenset[tuple[str, str]] = frozenset({("invoices", "issued_at")})
"""Event columns another column must not precede (the due date follows the issue day)."""

PLAYBOOK_COLUMNS: frozenset[tuple[str, str]] = frozenset({("csm_activities", "play_id")})
"""Columns whose value must be a play of the playbook (seed ``csm_plays``)."""
ORDER_RULES: dict[tuple[str, str], str] = {("csm_activities", "completed_at"): "started_at"}
"""Timestamps the table rule `completed_before_started` keeps not before another:
(table, column) -> the other column."""

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def row_hash(seed: int, table: str, keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """A 64-bit hash per row of (seed, table, key values)."""
    n = len(keys[0])
    base = _mix(np.full(1, seed % 2**64, dtype=np.uint64))
    base = _mix(base ^ np.uint64(zlib.crc32(table.encode("utf-8"))))
    h = np.broadcast_to(base, (n,)).copy()
    for k in keys:
        h = _mix(h ^ np.asarray(k, dtype=np.int64).view(np.uint64))
    return h


def uniform(h: np.ndarray, i: int) -> np.ndarray:
    """The ``i``-th uniform [0, 1) number derived from row hashes."""
    return (_mix(h + np.uint64(i * 0x632BE59BD9B4E019 % 2**64)) >> np.uint64(11)) / float(2**53)


def _pick(mask: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per row, a uniformly chosen column index among the True entries of ``mask``."""
    cum = np.cumsum(mask, axis=1)
    r = np.floor(u * cum[:, -1]).astype(np.int64)
    return np.argmax(cum > r[:, None], axis=1)


def empty_defects() -> pa.Table:
    """A defects table without rows."""
    return DEFECT_SCHEMA.empty_table()


class _Option:
    def __init__(self, kind: str, column: str | None) -> None:
        self.kind = kind
        self.column = column

    def reason(self) -> str | None:
        col = self.column
        return {
            "exact_duplicate": "exact_duplicate",
            "near_duplicate": "near_duplicate",
            "null_required": f"missing_{col}",
            "unparseable": f"unparseable_{col}",
            "negative": f"negative_{col}",
            "future_timestamp": f"future_{col}",
            "unknown_account": "unknown_account_id",
            "non_utc_offset": None,
            "unknown_play": f"unknown_{col}",
            "completed_before_started": "completed_before_started",
        }[self.kind]


def _options(spec: Table) -> list[_Option]:
    opts = [_Option("exact_duplicate", None)]
    plain = [col for col in spec.columns if col.name not in spec.key and col != LOADED_AT]
    opts += [
        _Option("near_duplicate", col.name) for col in plain if col.kind in ("enum", "timestamp")
    ]
    opts += [_Option("null_required", col.name) for col in plain if col.required]
    typed = ("timestamp", "date", "int", "decimal", "bool")
    opts += [_Option("unparseable", col.name) for col in plain if col.kind in typed]
    opts += [_Option("negative", col.name) for col in plain if col.amount]
    opts += [
        _Option("future_timestamp", col.name)
        for col in plain
        if col.event and (spec.name, col.name) not in NO_FUTURE
    ]
    if spec.name != "accounts" and "account_id" in spec.column_names:
        opts.append(_Option("unknown_account", "account_id"))
    opts += [_Option("non_utc_offset", col.name) for col in plain if col.kind == "timestamp"]
    opts += [
        _Option("unknown_play", col.name)
        for col in plain
        if (spec.name, col.name) in PLAYBOOK_COLUMNS
    ]
    opts += [
        _Option("completed_before_started", col.name)
        for col in plain
        if (spec.name, col.name) in ORDER_RULES
    ]
    return opts


def _day_of(values: pa.Array) -> np.ndarray:
    """Days since 1970 of ISO date or timestamp text (null as a large negative)."""
    days = pc.cast(pc.cast(pc.utf8_slice_codeunits(values, 0, 10), pa.date32()), pa.int32())
    return days.to_numpy(zero_copy_only=False).astype(np.float64)


class Injector:
    """Injects defects into batches of one run (one seed and rate)."""

    def __init__(self, formatter: Formatter, seed: int, rate: float) -> None:
        self.f = formatter
        self.seed = seed
        self.rate = rate
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.extra_rows: dict[str, int] = defaultdict(int)

    def inject(self, spec: Table, ex: Extract) -> tuple[pa.Table, pa.Table]:
        """The raw batch (clean rows, some damaged in place, then extra copies) and its defects."""
        tbl = ex.table
        if tbl.num_rows == 0:
            return tbl, empty_defects()
        h = row_hash(self.seed, spec.name, ex.keys)
        sel = np.flatnonzero(uniform(h, 0) < self.rate)
        if len(sel) == 0:
            return tbl, empty_defects()
        hs = h[sel]
        opts = _options(spec)
        sub = tbl.take(pa.array(sel))
        cols = {name: sub[name].combine_chunks() for name in sub.column_names}
        valid = np.ones((len(sel), len(opts)), dtype=bool)
        latest = self._latest_event(spec, cols, ex.loaded_day[sel])
        for j, o in enumerate(opts):
            if o.column is None:
                continue
            present = pc.is_valid(cols[o.column]).to_numpy(zero_copy_only=False)
            valid[:, j] = present
            if o.kind == "future_timestamp":
                valid[:, j] &= latest == o.column
        kinds = [k for k in KINDS if any(o.kind == k for o in opts)]
        kind_of = np.array([kinds.index(o.kind) for o in opts])
        kind_ok = np.stack(
            [(valid & (kind_of == k)[None, :]).any(axis=1) for k in range(len(kinds))], 1
        )
        chosen_kind = _pick(kind_ok, uniform(hs, 1))
        chosen = _pick(valid & (kind_of[None, :] == chosen_kind[:, None]), uniform(hs, 2))

        key_text = (
            pc.binary_join_element_wise(*[cols[k] for k in spec.key], "|")
            if len(spec.key) > 1
            else cols[spec.key[0]]
        )
        in_place: dict[str, list[tuple[np.ndarray, pa.Array]]] = defaultdict(list)
        extras: list[pa.Table] = []
        defects: list[pa.Table] = []
        for j, o in enumerate(opts):
            rows = np.flatnonzero(chosen == j)
            if len(rows) == 0:
                continue
            pos = sel[rows]
            u = uniform(hs[rows], 3)
            orig = (
                cols[o.column].take(pa.array(rows))
                if o.column
                else pa.nulls(len(rows), pa.string())
            )
            earlier = None
            if o.kind == "completed_before_started":
                earlier = cols[ORDER_RULES[(spec.name, o.column or "")]].take(pa.array(rows))
            new = self._value(spec, o, orig, u, ex.loaded_day[pos], earlier) if o.column else orig
            extra = o.kind in ("exact_duplicate", "near_duplicate") or (
                o.kind in DAMAGING and spec.referenced
            )
            if extra:
                copy = tbl.take(pa.array(pos))
                if o.column:
                    i = copy.schema.get_field_index(o.column)
                    copy = copy.set_column(i, o.column, new)
                extras.append(copy)
            else:
                in_place[o.column or ""].append((pos, new))
            self.counts[spec.name][o.kind] += len(rows)
            n = len(rows)
            defects.append(
                pa.Table.from_arrays(
                    [
                        pa.array([spec.name] * n, pa.string()),
                        pa.array([o.kind] * n, pa.string()),
                        pa.array([o.column] * n, pa.string()),
                        pa.array([o.reason()] * n, pa.string()),
                        key_text.take(pa.array(rows)),
                        orig,
                        new if o.column else pa.nulls(n, pa.string()),
                    ],
                    schema=DEFECT_SCHEMA,
                )
            )
        raw = tbl
        for column, groups in in_place.items():
            pos = np.concatenate([p for p, _ in groups])
            vals = pa.concat_arrays([v for _, v in groups])
            order = np.argsort(pos, kind="stable")
            mask = np.zeros(tbl.num_rows, dtype=bool)
            mask[pos] = True
            i = raw.schema.get_field_index(column)
            replaced = pc.replace_with_mask(
                raw[column].combine_chunks(), pa.array(mask), vals.take(pa.array(order))
            )
            raw = raw.set_column(i, column, replaced)
        if extras:
            n_extra = sum(e.num_rows for e in extras)
            self.extra_rows[spec.name] += n_extra
            raw = pa.concat_tables([raw, *extras])
        return raw, pa.concat_tables(defects)

    def _latest_event(
        self, spec: Table, cols: dict[str, pa.Array], loaded_day: np.ndarray
    ) -> np.ndarray:
        """Name of the event column holding the row's latest event, or ''.

        Event columns are listed in lifecycle order, so among columns on the same day the
        last one holds the latest timestamp; moving it later keeps the row's order intact.
        """
        out = np.full(len(loaded_day), "", dtype=object)
        target = loaded_day + self.f.epoch
        for col in spec.columns:
            if not col.event or col.name in spec.key:
                continue
            day = _day_of(cols[col.name])
            out[day == target] = col.name
        return out

    def _value(
        self,
        spec: Table,
        o: _Option,
        orig: pa.Array,
        u: np.ndarray,
        loaded_day: np.ndarray,
        earlier: pa.Array | None = None,
    ) -> pa.Array:
        """The damaged value; ``earlier`` is the column a ``completed_before_started`` value
        must end up before."""
        col = spec.column(o.column or "")
        if o.kind == "near_duplicate":
            if col.kind == "timestamp":
                return join(
                    pc.utf8_slice_codeunits(orig, 0, 10),
                    " ",
                    pc.utf8_slice_codeunits(orig, 11, 19),
                    "+00:00",
                )
            variants = [
                pc.utf8_upper(orig),
                pc.utf8_lower(orig),
                join(" ", pc.utf8_lower(orig)),
                join(orig, " "),
                join("  ", orig),
                pc.utf8_capitalize(orig),
            ]
            idx = pa.array(np.floor(u * len(variants)).astype(np.int8))
            v = pc.choose(idx, *variants)
            return pc.if_else(pc.equal(v, orig), join(orig, " "), v)
        if o.kind == "null_required":
            return pa.nulls(len(orig), pa.string())
        if o.kind == "unparseable":
            choices = UNPARSEABLE[col.kind]
            idx = np.floor(u * len(choices)).astype(np.int64)
            return pa.array([choices[i] for i in idx], pa.string())
        if o.kind == "negative":
            zero = "0.00" if col.kind == "decimal" else "0"
            one = "-1.00" if col.kind == "decimal" else "-1"
            return pc.if_else(pc.equal(orig, zero), one, join("-", orig))
        if o.kind == "future_timestamp":
            day = loaded_day + 30 + np.floor(u * 371).astype(np.int64)
            dates = self.f.dates(day)
            if col.kind == "date":
                return dates
            return join(dates, pc.utf8_slice_codeunits(orig, 10, 20))
        if o.kind == "unknown_account":
            return join("acc_9", pc.utf8_slice_codeunits(orig, 5, 10))
        if o.kind == "unknown_play":
            # A play renamed or retired from the playbook after it was recorded.
            return join("legacy_", orig)
        if o.kind == "completed_before_started" and earlier is not None:
            # Recorded done 1 to 72 hours before it started (a clock or a copy-paste slip).
            hours = 1 + np.floor(u * 72).astype(np.int64)
            start = pc.strptime(earlier, format="%Y-%m-%dT%H:%M:%SZ", unit="s")
            secs = pc.cast(start, pa.int64()).to_numpy(zero_copy_only=False) - hours * 3600
            done = pc.strftime(pa.array(secs, type=pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
            return join(done, "Z")
        if o.kind == "non_utc_offset":
            pick = np.floor(u * len(OFFSETS)).astype(np.int64)
            shift = np.array([OFFSETS[i][1] for i in pick], dtype=np.int64)
            text = pa.array([OFFSETS[i][0] for i in pick], pa.string())
            instant = pc.strptime(orig, format="%Y-%m-%dT%H:%M:%SZ", unit="s")
            secs = pc.cast(instant, pa.int64()).to_numpy(zero_copy_only=False) + shift
            local = pc.strftime(pa.array(secs, type=pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
            return join(local, text)
        raise ValueError(o.kind)
