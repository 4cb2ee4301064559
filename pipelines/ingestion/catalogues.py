"""The reference catalogues of inputs.md, read from the dbt seeds (the one copy in the repository).

Ingestion validates codes against these before dbt has run, so it reads the seed CSVs directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import polars as pl

from pipelines.settings import DBT_PROJECT_DIR

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


def read_seed(name: str) -> pl.DataFrame:
    """A seed as text columns (codes such as region '01' keep their leading zeros)."""
    return pl.read_csv(SEEDS_DIR / f"{name}.csv", infer_schema=False)


@dataclass(frozen=True)
class Catalogues:
    regions: pl.DataFrame  # region_code, name_ru, name_en, federal_district
    priority_areas: pl.DataFrame  # project_code, name_en, name_ru, available_from_year
    products: pl.DataFrame  # okpd2, name_ru, name_en, project_code, okei, high_tech
    units: pl.DataFrame  # okei, name_ru, name_en, symbol
    countries: pl.DataFrame  # country_code, name_en, name_ru
    indicators: pl.DataFrame  # indicator_code, name_en, name_ru, kind (flow|ratio|index), unit

    @property
    def region_codes(self) -> list[str]:
        return self.regions["region_code"].to_list()

    @property
    def project_codes(self) -> list[str]:
        return self.priority_areas["project_code"].to_list()

    @property
    def product_codes(self) -> list[str]:
        return self.products["okpd2"].to_list()

    @property
    def unit_codes(self) -> list[str]:
        return self.units["okei"].to_list()

    @property
    def country_codes(self) -> list[str]:
        return self.countries["country_code"].to_list()

    def usual_unit(self) -> dict[str, str]:
        """okpd2 -> the product's usual OKEI unit."""
        return dict(self.products.select("okpd2", "okei").iter_rows())


@cache
def load_catalogues() -> Catalogues:
    return Catalogues(
        regions=read_seed("regions"),
        priority_areas=read_seed("priority_areas"),
        products=read_seed("products"),
        units=read_seed("units"),
        countries=read_seed("countries"),
        indicators=read_seed("indicators"),
    )
