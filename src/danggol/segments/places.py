"""Region and city spellings that mean the same place: 서울 = 서울특별시 = Seoul = KR-11.

Shops store regions as their customers typed them or their platform exported them (Cafe24 and
Naver write 서울특별시, some exports 서울 or Seoul, Shopify writes the ISO 3166-2 code KR-11).
A segment value is expanded to every spelling of its place, so ``customer_regions = '서울'``
finds all of them. Cities also take Shopify's ``countryCode-regionCode-cityCode`` form
(``US-CA-LosAngeles``): its last part, compared without blanks and hyphens.

The Korean table follows ISO 3166-2:KR (the province codes of 2023 and 2024 for 강원 and
전북 included, with the older codes).
"""

from __future__ import annotations

import re

#: one row per Korean first-level division: every spelling, the ISO codes last
KOREAN_REGIONS: tuple[tuple[str, ...], ...] = (
    ("서울특별시", "서울", "서울시", "seoul", "KR-11"),
    ("부산광역시", "부산", "부산시", "busan", "KR-26"),
    ("대구광역시", "대구", "대구시", "daegu", "KR-27"),
    ("인천광역시", "인천", "인천시", "incheon", "KR-28"),
    ("광주광역시", "광주", "광주시", "gwangju", "KR-29"),
    ("대전광역시", "대전", "대전시", "daejeon", "KR-30"),
    ("울산광역시", "울산", "울산시", "ulsan", "KR-31"),
    ("세종특별자치시", "세종", "세종시", "sejong", "KR-50"),
    ("경기도", "경기", "gyeonggi", "gyeonggi-do", "KR-41"),
    ("강원특별자치도", "강원도", "강원", "gangwon", "gangwon-do", "KR-51", "KR-42"),
    ("충청북도", "충북", "chungcheongbuk-do", "chungbuk", "KR-43"),
    ("충청남도", "충남", "chungcheongnam-do", "chungnam", "KR-44"),
    ("전북특별자치도", "전라북도", "전북", "jeollabuk-do", "jeonbuk", "KR-52", "KR-45"),
    ("전라남도", "전남", "jeollanam-do", "jeonnam", "KR-46"),
    ("경상북도", "경북", "gyeongsangbuk-do", "gyeongbuk", "KR-47"),
    ("경상남도", "경남", "gyeongsangnam-do", "gyeongnam", "KR-48"),
    ("제주특별자치도", "제주도", "제주", "jeju", "jeju-do", "KR-49"),
)
_REGION_ALIASES: dict[str, tuple[str, ...]] = {
    spelling.lower(): tuple(s.lower() for s in row) for row in KOREAN_REGIONS for spelling in row
}
_SHOPIFY_CITY = re.compile(r"[A-Za-z]{2}-[A-Za-z0-9]{1,3}-(.+)")


def region_spellings(value: str) -> tuple[str, ...]:
    """Every lower-cased spelling of the region ``value`` names (itself when unknown)."""
    return _REGION_ALIASES.get(value.strip().lower(), (value.strip().lower(),))


def city_key(value: str) -> str:
    """A city as compared: Shopify's ``US-CA-LosAngeles`` is ``losangeles``; blanks and
    hyphens dropped, lower-cased (so 'Los Angeles' matches too)."""
    shopify = _SHOPIFY_CITY.fullmatch(value.strip())
    city = shopify.group(1) if shopify else value
    return re.sub(r"[\s\-]+", "", city).lower()


__all__ = ["KOREAN_REGIONS", "city_key", "region_spellings"]
