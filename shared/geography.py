"""Denmark's five regions, by their official codes (Danmarks Statistik / DAGI)."""

REGIONS = {
    "1081": "Region Nordjylland",
    "1082": "Region Midtjylland",
    "1083": "Region Syddanmark",
    "1084": "Region Hovedstaden",
    "1085": "Region Sjælland",
}


def region_code(text: str) -> str | None:
    """The code of a region given as code ("1082"), name ("Region Midtjylland") or short name ("midtjylland")."""
    wanted = text.strip().casefold()
    for code, name in REGIONS.items():
        if wanted in (code, name.casefold(), name.casefold().removeprefix("region ")):
            return code
    return None
