"""CSV files the way Danish Excel reads and writes them: UTF-8 with a BOM, semicolons."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from shared.errors import ValidationFailed

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A semicolon-separated UTF-8 file with a BOM; None is an empty cell, formula-like text is neutralised."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_cell(value) for value in header])
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def decode_csv(data: bytes, columns_hint: str) -> tuple[str, str]:
    """The file's text and its delimiter: UTF-8 with or without a byte order mark, ';' (Danish Excel) or ','.

    Unreadable or empty files are a 422 saying what to do; `columns_hint` names the expected header.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationFailed.field("", "Filen skal være gemt som UTF-8 (CSV UTF-8 i Excel).") from error
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ValidationFailed.field("", f"Filen er tom; første linje skal være kolonnenavnene {columns_hint}.")
    return text, ";" if ";" in lines[0] else ","
