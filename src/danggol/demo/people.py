"""The demo shop's customers: demographics, sign-ups and latent traits."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from danggol.demo.arrays import _choice, _digits, _fixed_strings, _take
from danggol.demo.clock import _Catalogue, _Clock
from danggol.demo.vocabularies import (
    AFFINITY_BETA,
    AFFINITY_SLOPE,
    CATEGORY_SHARES,
    CONSUMABLES,
    DROPOUT_BETA,
    EMAIL_DOMAINS,
    EMAIL_SHARES,
    FEMALE_NAMES,
    FEMALE_ROMAN,
    FOREIGN_CITIES,
    FOREIGN_COUNTRIES,
    FOREIGN_SHARE,
    KST_OFFSET_US,
    MALE_NAMES,
    MALE_ROMAN,
    MEAN_RATE,
    P_ONE_AND_DONE,
    P_REPLENISHER,
    RATE_SHAPE,
    REGIONS,
    SIGNUP_CHANNELS,
    SIGNUP_SHARES,
    SURNAME_SHARES,
    SURNAMES,
    SURNAMES_ROMAN,
    US_PER_DAY,
)

# --------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------


@dataclass
class _People:
    """Per-customer attributes and latent traits, customers in sign-up order."""

    signup_us: np.ndarray
    signup_lam: np.ndarray
    channel: np.ndarray
    opt_in: np.ndarray
    device: np.ndarray
    fav: np.ndarray
    affinity: np.ndarray
    rate: np.ndarray
    p_drop: np.ndarray
    one_and_done: np.ndarray
    replenisher: np.ndarray
    staple: np.ndarray
    wholesale: np.ndarray
    engagement: np.ndarray
    columns: dict[str, pa.Array] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.signup_us)


def _name_columns(rng: np.random.Generator, n: int, gender: np.ndarray) -> dict[str, pa.Array]:
    """name, email and phone of each customer."""
    given = FEMALE_NAMES + MALE_NAMES
    given_roman = FEMALE_ROMAN + MALE_ROMAN
    n_f, n_given = len(FEMALE_NAMES), len(given)
    surname = _choice(rng, SURNAME_SHARES, n)
    first = rng.integers(0, len(FEMALE_NAMES), n)
    first = np.where(gender == 1, first + n_f, first)
    other = gender >= 2
    first[other] = rng.integers(0, n_given, int(other.sum()))
    combo = surname.astype(np.int64) * n_given + first
    full_names = pa.array([s + g for s in SURNAMES for g in given], pa.string())
    locals_ = pa.array([g + s for s in SURNAMES_ROMAN for g in given_roman], pa.string())

    # a bijection of the row number keeps e-mails and phones unique without a check
    mod = 10 ** max(4, _digits(n))
    number = (np.arange(n, dtype=np.int64) * 7_919 + 1_234) % mod
    domain = _choice(rng, EMAIL_SHARES, n)
    email = pc.binary_join_element_wise(
        locals_.take(combo),
        pc.cast(pa.array(number), pa.string()),
        "@",
        pa.array(EMAIL_DOMAINS).take(domain),
        "",
    )
    phone_no = (np.arange(n, dtype=np.int64) * 48_271 + 31_415_926) % 100_000_000
    phone = _fixed_strings(n, "010-", (phone_no // 10_000, 4), "-", (phone_no % 10_000, 4))
    email = pc.if_else(pa.array(rng.random(n) < 0.02), pa.scalar(None, pa.string()), email)
    phone = pc.if_else(pa.array(rng.random(n) < 0.05), pa.scalar(None, pa.string()), phone)
    return {"name": full_names.take(combo), "email": email, "phone": phone}


def _place_columns(rng: np.random.Generator, n: int) -> tuple[dict[str, pa.Array], np.ndarray]:
    """country, region and city; also whether the customer lives in Korea."""
    countries: list[str] = []
    regions: list[str | None] = []
    cities: list[str] = []
    weights: list[float] = []
    for region, pop, towns in REGIONS:
        urban = 1.1 if region in ("서울특별시", "경기도") else 1.0  # online shoppers skew urban
        for town in towns:
            countries.append("KR")
            regions.append(region)
            cities.append(town)
            weights.append((1 - FOREIGN_SHARE) * urban * pop / len(towns))
    kr_total = sum(weights)
    for country, town in zip(FOREIGN_COUNTRIES, FOREIGN_CITIES, strict=True):
        countries.append(country)
        regions.append(None)
        cities.append(town)
        weights.append(kr_total * FOREIGN_SHARE / (1 - FOREIGN_SHARE) / len(FOREIGN_CITIES))
    place = _choice(rng, weights, n)
    n_kr = sum(len(r[2]) for r in REGIONS)
    cols = {
        "country": pa.array(countries, pa.string()).take(place),
        "region": pa.array(regions, pa.string()).take(place),
        "city": pa.array(cities, pa.string()).take(place),
    }
    return cols, place < n_kr


def _make_people(rng: np.random.Generator, n: int, clock: _Clock, cat: _Catalogue) -> _People:
    signup_us = clock.sample_signups(rng, n)
    signup_lam = clock.lam_at(signup_us)

    gender = _choice(rng, [0.56, 0.41, 0.01, 0.02], n)  # female, male, other, not given
    age = 18.0 + 52.0 * rng.beta(2.2, 4.0, n)
    channel = _choice(rng, SIGNUP_SHARES, n).astype(np.int8)
    opt_in = rng.random(n) < 0.6
    # older customers use the web more, the rest mostly phones
    p_web = np.where(age > 50, 0.35, 0.15)
    u = rng.random(n)
    device = np.where(u < p_web, 0, np.where(u < p_web + 0.45, 1, 2)).astype(np.int8)

    # latent purchase traits (see the module docstring)
    rate = rng.gamma(RATE_SHAPE, MEAN_RATE / RATE_SHAPE, n)
    p_drop = rng.beta(*DROPOUT_BETA, n)
    one_and_done = rng.random(n) < P_ONE_AND_DONE
    replenisher = ~one_and_done & (rng.random(n) < P_REPLENISHER)
    # frequent buyers fill cheaper baskets (groceries, refills): keeps revenue less skewed;
    # "frequent" = expected purchases (rate × purchases until dropout) against a typical one
    busy = rate / MEAN_RATE * (DROPOUT_BETA[0] / sum(DROPOUT_BETA) / p_drop)
    affinity = rng.beta(AFFINITY_BETA, AFFINITY_BETA, n) - AFFINITY_SLOPE * np.log(busy)
    cycle = rng.uniform(14.0, 35.0, n)  # days between refills of a consumable
    rate = np.where(replenisher, 1.0 / cycle, rate)
    affinity = np.where(replenisher, affinity - 0.1, affinity)
    fav = _choice(rng, CATEGORY_SHARES, n).astype(np.int8)
    consumable = np.asarray(CONSUMABLES, dtype=np.int8)
    # frequent buyers tend to be grocery and beauty shoppers, as do all replenishers
    grocer = replenisher | (rng.random(n) < np.minimum(0.6, 0.25 * busy))
    fav = np.where(grocer, consumable[rng.integers(0, 2, n)], fav)
    # a staple product in the cheaper two thirds of the favourite category
    staple = cat.cat_start[fav] + (rng.random(n) * cat.cat_size[fav] * 0.66).astype(np.int64)
    staple = np.where(replenisher, staple, -1)
    affinity = np.clip(affinity, 0.02, 0.98).astype(np.float32)
    wholesale = rng.random(n) < 0.003
    engagement = rng.gamma(2.0, 0.5, n)

    columns = _name_columns(rng, n, gender)
    places, in_korea = _place_columns(rng, n)
    columns.update(places)
    columns["phone"] = pc.if_else(
        pa.array(in_korea), columns["phone"], pa.scalar(None, pa.string())
    )
    signup_day = (signup_us + KST_OFFSET_US) // US_PER_DAY
    birth = (signup_day - (age * 365.25).astype(np.int64)).astype(np.int32)
    columns["gender"] = _take(
        pa.array(["female", "male", "other"]), np.where(gender < 3, gender, -1)
    )
    columns["birth_date"] = pa.array(birth, mask=rng.random(n) < 0.06).view(pa.date32())
    columns["signup_channel"] = pa.array(SIGNUP_CHANNELS).take(channel)
    columns["marketing_opt_in"] = pa.array(opt_in)
    return _People(
        signup_us,
        signup_lam,
        channel,
        opt_in,
        device,
        fav,
        affinity,
        rate,
        p_drop,
        one_and_done,
        replenisher,
        staple,
        wholesale,
        engagement,
        columns,
    )
