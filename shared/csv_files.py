"""Reading an uploaded CSV file the way Danish Excel writes it."""

from __future__ import annotations

from shared.errors import ValidationFailed


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
