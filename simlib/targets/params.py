"""``params/targets.yaml``: how next year's number is cascaded (and the parts a scenario reuses)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from simlib.config import At, Fraction01, PositiveMoney, StrictModel

__all__ = ["Attainability", "Funnel", "GrowthBounds", "MethodWeights", "TargetParams", "Uplift"]


class MethodWeights(StrictModel):
    historical: float = Field(0.5, ge=0)
    potential: float = Field(0.2, ge=0)
    equal: float = Field(0.0, ge=0)
    capacity: float = Field(0.3, ge=0)

    @model_validator(mode="after")
    def _some_weight(self):
        if self.historical + self.potential + self.equal + self.capacity <= 0:
            raise ValueError("the method weights sum to 0; give at least one method a weight > 0")
        return self


class GrowthBounds(StrictModel):
    floor: float = Field(-0.10, ge=-1.0)
    cap: float = Field(0.40, ge=-1.0)
    no_history: Literal["free", "peers"] = Field(
        "free",
        description="a node without a comparable last year (a new hire, a new team): 'free' "
        "applies no floor or cap to it (said in the allocation); 'peers' bounds it as if its "
        "last year were the mean of its comparable siblings' (for a rep, times the share of "
        "the target year the plan's ramp has them at full productivity)",
    )

    @model_validator(mode="after")
    def _ordered(self):
        if self.cap < self.floor:
            raise At(("cap",), f"cap is below floor {self.floor}; expected cap >= floor", self.cap)
        return self


class Uplift(StrictModel):
    region: float = Field(0.0, ge=0, le=1)
    team: float = Field(0.03, ge=0, le=1)
    rep: float = Field(0.05, ge=0, le=1)


class Attainability(StrictModel):
    low: Fraction01 = 0.30
    high: Fraction01 = 0.90
    company_confidence: Fraction01 = 0.80

    @model_validator(mode="after")
    def _ordered(self):
        if self.high <= self.low:
            raise At(("high",), f"expected high above low {self.low}", self.high)
        return self


class Funnel(StrictModel):
    marketing_lead_floor: int = Field(50, ge=0, description="qualified leads per team per month")


class TargetParams(StrictModel):
    """``params/targets.yaml``: how next year's number is cascaded."""

    year: int = Field(ge=2000, le=2100)
    metric: Literal["revenue"] = "revenue"
    company_target: PositiveMoney | None = None
    company_growth: float | None = Field(None, ge=-0.5, le=2.0)
    uplift: Uplift = Uplift()
    methods: MethodWeights = MethodWeights()
    growth: GrowthBounds = GrowthBounds()
    seasonality: bool = True
    ramp_months: int = Field(6, ge=0, le=24)
    attainability: Attainability = Attainability()
    funnel: Funnel = Funnel()
    focus_region: str | None = None
    focus_weight: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _one_company_number(self):
        if self.company_target is not None and self.company_growth is not None:
            raise At(
                ("company_growth",),
                "give exactly one of company_target or "
                f"company_growth, not both (company_target is {self.company_target:g})",
                self.company_growth,
            )
        if self.company_target is None and self.company_growth is None:
            raise ValueError(
                "give exactly one of company_target or company_growth; neither is given"
            )
        return self
