"""DuckDB's text -> BIGINT / DECIMAL / DATE casts, written as Spark SQL expressions.

Why: the embedded engine types each extract column with DuckDB's `try_cast`, and Spark's
`try_cast` accepts a different language (Spark reads '2019' as a date and refuses '1.5' as a
BIGINT; DuckDB does the opposite). The Spark engine must stage and reject exactly the same
rows, so every cast goes through a grammar of what DuckDB accepts:

- BIGINT: optional sign and whitespace, digits with single `_` between digits, an optional
  fraction and exponent (rounded half away from zero: '1.5' -> 2), or `0x` / `0b` literals.
- DECIMAL(p,s): the same decimal grammar (no hex), then Spark's own rounding cast (the same
  half-up rounding as DuckDB's).
- DATE: `[-]y{1,8}<sep>m{1,2}<sep>d{1,2}` with sep one of `- / space \\`, an optional
  ` (BC)`, and an optional time of day (`T` or blanks, `h:m[:s[.f]]`, `Z` or a numeric
  offset), all inside optional whitespace; the special words `epoch`.

What DuckDB accepts beyond that (time-zone NAMES after a time, 'infinity', years past
Spark's 294247) is listed in docs/late_payments.md ("On Spark"). Whitespace is DuckDB's set
(space, \\t, \\n, \\v, \\f, \\r), which is exactly Java's `\\s`. Every pattern is a Spark raw
string literal (r'...'), anchored with ^ and \\z (Java's $ would also match before a final
line break).
"""

from __future__ import annotations

_DIGITS = r"[0-9](?:_?[0-9])*"
_NUMBER = (
    rf"[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS}\.?)?"
)
_HEX = r"\s*0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*"
_BIN = r"\s*0[bB][01](?:_?[01])*"
# groups: 1 sign, 2 year, 3 separator, 4 month, 5 day, 6 " (BC)", 7 hour, 8 minute, 9 second
_DATE = (
    r"^\s*(-?)0*([0-9]{1,8})([-/ \\])([0-9]{1,2})\3([0-9]{1,2})(\s\([bB][cC]\))?(?:\s*|"
    r"(?:T|\s)\s*([0-9]{1,4}):([0-9]{1,2})(?::([0-9]{1,2})(?:\.[0-9]*)?)?"
    r"(?:\s?(?:Z|[+-][0-9]{2}(?::[0-9]{2}(?::[0-9]{2})?|[0-9]{2})?)\s*| *))\z"
)


_EDGES = r"^\s+|\.?\s*\z"  # DuckDB also takes "1e3." (a dot after the exponent)
_SEPARATOR = r"(?<=[0-9a-fA-F])_(?=[0-9a-fA-F])"
_INTEGER = r"\s*[+-]?[0-9]+\s*"
_PADDED_NUMBER = rf"\s*{_NUMBER}\s*"
_ISO = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_EPOCH = r"\s*-?[eE][pP][oO][cC][hH]\s*"
_END = r"\z"


def _lit(pattern: str) -> str:
    """A Spark raw string literal for a regex (no quote character may appear in it)."""
    assert "'" not in pattern
    return f"r'{pattern}'"


def _matches(value: str, pattern: str) -> str:
    return f"regexp({value}, {_lit('^' + pattern + _END)})"


def _strip(value: str) -> str:
    """Drop DuckDB's whitespace at both ends and the `_` digit separators."""
    return (
        f"regexp_replace(regexp_replace({value}, {_lit(_EDGES)}, ''), "
        f"{_lit(_SEPARATOR)}, '')"
    )


def _radix(clean: str, base: int, max_digits: int) -> str:
    """A `0x` / `0b` literal: Spark's conv() fails (ANSI) past 64 bits, so longer digit
    strings (after leading zeros) are out of range here, as in DuckDB."""
    digits = f"concat('0', regexp_replace(substr({clean}, 3), '^0+', ''))"
    return (
        f"CASE WHEN length({digits}) <= {max_digits + 1} "
        f"THEN try_cast(conv({digits}, {base}, 10) AS BIGINT) END"
    )


def bigint(value: str) -> str:
    """`try_cast(value AS BIGINT)` as DuckDB does it, NULL where DuckDB gives NULL."""
    clean = _strip(value)
    return (
        f"CASE WHEN {_matches(value, _INTEGER)} THEN try_cast({clean} AS BIGINT) "
        f"WHEN {_matches(value, _PADDED_NUMBER)} "
        f"THEN try_cast(round(try_cast({clean} AS DECIMAL(38, 18))) AS BIGINT) "
        f"WHEN {_matches(value, _HEX)} THEN {_radix(clean, 16, 16)} "
        f"WHEN {_matches(value, _BIN)} THEN {_radix(clean, 2, 64)} "
        "END"
    )


def decimal(value: str, sql_type: str) -> str:
    """`try_cast(value AS DECIMAL(p,s))` as DuckDB does it (`sql_type` from the contract)."""
    return (
        f"CASE WHEN {_matches(value, _PADDED_NUMBER)} "
        f"THEN try_cast({_strip(value)} AS {sql_type}) END"
    )


def is_iso_date(value: str) -> str:
    """SQL: `value` is exactly `yyyy-mm-dd`, which Spark's own cast reads as DuckDB does."""
    return _matches(value, _ISO)


def date(value: str) -> str:
    """`try_cast(value AS DATE)` as DuckDB does it: ISO dates by Spark's own cast (the fast
    path), others through the grammar, rebuilt as `[-]yyyy-m-d` (a lambda binds the parts:
    p[0] sign, p[1] year, p[2] month, p[3] day, p[4] " (BC)", p[5] hour, p[6] min, p[7] sec)."""
    parts = f"split(regexp_replace({value}, {_lit(_DATE)}, '$1,$2,$4,$5,$6,$7,$8,$9'), ',')"
    year = "try_cast(p[1] AS INT)"
    signed = f"CASE WHEN p[4] <> '' THEN 1 - {year} WHEN p[0] = '-' THEN -{year} ELSE {year} END"
    hour, minute = "try_cast(p[5] AS INT)", "try_cast(p[6] AS INT)"
    second = "coalesce(try_cast(p[7] AS INT), 0)"
    time_ok = (
        f"(p[5] = '' OR ({minute} <= 59 AND {second} <= 59 AND "
        f"({hour} < 24 OR ({hour} = 24 AND {minute} = 0 AND {second} = 0))))"
    )
    bc_ok = f"NOT (p[4] <> '' AND (p[0] = '-' OR {year} = 0))"
    rebuilt = (
        f"try_cast(concat(CASE WHEN {signed} < 0 THEN '-' ELSE '' END, "
        f"format_string('%04d', abs({signed})), '-', p[2], '-', p[3]) AS DATE)"
    )
    return (
        f"CASE WHEN {is_iso_date(value)} THEN try_cast({value} AS DATE) "
        f"WHEN {_matches(value, _EPOCH)} THEN DATE'1970-01-01' "
        f"WHEN regexp({value}, {_lit(_DATE)}) THEN transform(array({parts}), "
        f"p -> CASE WHEN {time_ok} AND {bc_ok} THEN {rebuilt} END)[0] END"
    )
