"""What a template message costs: Meta charges per delivered template, by the recipient's
country and the template's category. The admin's per-country table wins; a country it does
not list costs the flat per-category price (`template_prices`)."""
from __future__ import annotations

from collections.abc import Mapping


def default_country_prices() -> dict[str, dict[str, float]]:
    # Meta's published per-message rates (USD, rate card of July 2025) for a few markets; an
    # admin edits the table to match their own rate card and currency.
    return {
        "IT": {"marketing": 0.0691, "utility": 0.03, "authentication": 0.03},
        "DE": {"marketing": 0.1365, "utility": 0.055, "authentication": 0.0768},
        "FR": {"marketing": 0.0859, "utility": 0.03, "authentication": 0.0688},
        "ES": {"marketing": 0.0615, "utility": 0.02, "authentication": 0.0343},
        "GB": {"marketing": 0.0529, "utility": 0.022, "authentication": 0.0358},
        "US": {"marketing": 0.025, "utility": 0.004, "authentication": 0.0135},
        "BR": {"marketing": 0.0625, "utility": 0.008, "authentication": 0.0315},
        "IN": {"marketing": 0.0118, "utility": 0.0014, "authentication": 0.0014},
    }


def price_of(country_prices: Mapping[str, Mapping[str, float]], template_prices: Mapping[str, float],
             country: str | None, category: str | None) -> float:
    category = (category or "").lower()
    listed = country_prices.get((country or "").upper())
    if listed is not None and category in listed:
        return float(listed[category])
    return float(template_prices.get(category, 0.0))
