"""The record of processing activities (docs/record-of-processing.md) states the code's retention defaults."""

from __future__ import annotations

import re
from pathlib import Path

from shared.retention import AUDIT_MINIMUM_YEARS, DEFAULTS, INVOICE_MINIMUM_YEARS

RECORD = Path(__file__).parents[2] / "docs" / "record-of-processing.md"
ROW = re.compile(r"^\| [^|]+ \| `(RETENTION_[A-Z_]+)` \| (\d+) (days|weeks|months|years) \|", re.MULTILINE)


def stated_defaults() -> dict[str, tuple[int, str]]:
    return {variable: (int(number), unit) for variable, number, unit in ROW.findall(RECORD.read_text())}


def test_every_retention_default_in_the_record_is_the_codes():
    stated = stated_defaults()
    assert set(stated) == set(DEFAULTS), "every RETENTION_* variable has one row in the record's retention table"
    for variable, (number, unit) in stated.items():
        assert variable.endswith(f"_{unit.upper()}"), f"{variable} is counted in {unit} in the record"
        assert number == DEFAULTS[variable], f"{variable}: the record says {number}, the code {DEFAULTS[variable]}"


def test_the_record_states_the_legal_floors():
    text = RECORD.read_text()
    assert f"Minimum {INVOICE_MINIMUM_YEARS} years (bogføringsloven § 10)" in text
    assert f"minimum {AUDIT_MINIMUM_YEARS} year" in text


def test_the_record_covers_what_art_30_asks():
    text = RECORD.read_text()
    for heading in ("## Controllers and processor", "## Processing activities", "## Transfers to third countries",
                    "## Retention (art. 30(1)(f))", "## Security measures (art. 32)"):
        assert heading in text, heading
