"""``params/company.yaml``: who the company is, its language and how it counts money."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field

from simlib.config import ParamError, StrictModel, load_file

__all__ = ["CompanyParams", "DemoParams", "company_params", "default_currency", "default_language"]


class DemoParams(StrictModel):
    seed: int = Field(20261120, ge=0)
    as_of: dt.date = dt.date(2026, 11, 20)


class CompanyParams(StrictModel):
    """``params/company.yaml``: who the company is and how it counts money."""

    name: str
    name_zh: str | None = None
    currency: Literal["CNY", "USD", "EUR"] = "CNY"
    language: Literal["en", "zh-CN"] = "zh-CN"
    amount_unit: Literal["yuan", "wan"] = "wan"
    fiscal_year_start_month: int = Field(1, ge=1, le=12)
    calendar: str = "calendar_cn.yaml"
    demo: DemoParams = DemoParams()


def company_params(params_dir: str | Path | None = None) -> CompanyParams:
    """``params/company.yaml``, validated."""
    return load_file("company.yaml", CompanyParams, params_dir)


def default_language(params_dir: str | Path | None = None) -> str:
    """The company's language (``company.yaml``); English when the file is missing or bad."""
    try:
        return company_params(params_dir).language
    except ParamError:
        return "en"


def default_currency(params_dir: str | Path | None = None) -> str:
    """The company's currency (``company.yaml``); CNY when the file is missing or bad."""
    try:
        return company_params(params_dir).currency
    except ParamError:
        return "CNY"
