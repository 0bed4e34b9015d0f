"""Place names from GPS positions, offline: the nearest GeoNames city (the `reverse-geocode` package ships
the data, ~150,000 places of 1,000 people or more) as "City, Region, Country"."""

from __future__ import annotations

import math
import threading

# A position farther than this from every known place (at sea, deep wilderness) gets no name: the nearest
# city could be in another country.
MAX_DISTANCE_KM = 100.0
# The nearest GeoNames point is often a district or a suburb (Pyrmont for central Sydney, Vanves beside
# Paris's 15th arrondissement); the nearest big city within this distance is named too, so `sydney` finds it.
BIG_CITY_POPULATION = 500_000
BIG_CITY_KM = 40.0
# Where no big city is near, the nearest city of this size close by: a point in Reykjavik is nearer Kopavogur's
# GeoNames point than Reykjavik's, and `reykjavik` found nothing.
CITY_POPULATION = 100_000
CITY_KM = 15.0
_lock = threading.Lock()  # the package builds its search tree on first use


def _distance(position: tuple[float, float], place: dict) -> float:
    """Kilometres from the position to a GeoNames place."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*position, place["latitude"], place["longitude"]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))


def place_name(latitude: float, longitude: float) -> str | None:
    """The nearest place, the big city around it (else a city close by), the region and the country, each once
    ("Kyoto, Japan", "Pyrmont, Sydney, New South Wales, Australia"); None beyond MAX_DISTANCE_KM of any place."""
    import reverse_geocode

    position = (latitude, longitude)
    with _lock:
        found = reverse_geocode.get(position)
        if not found or _distance(position, found) > MAX_DISTANCE_KM:
            return None
        around = reverse_geocode.get(position, min_population=BIG_CITY_POPULATION)
        if not around or _distance(position, around) > BIG_CITY_KM:  # asked only where no big city is near
            around = reverse_geocode.get(position, min_population=CITY_POPULATION)
            around = around if around and _distance(position, around) <= CITY_KM else {}
    parts = [found.get("city"), around.get("city"), found.get("state"), found.get("country")]
    return ", ".join(dict.fromkeys(part for part in parts if part)) or None
