"""Workspace settings: ``danggol.toml`` as one pydantic model."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from danggol.errors import ConfigError

CONFIG_FILE = "danggol.toml"
STORE_FILE = "store.duckdb"


class PredictionSettings(BaseModel):
    """How ``refresh`` predicts each customer's future (the ``[predictions]`` table of
    ``danggol.toml``); every number is explicit about its unit.

    >>> PredictionSettings().horizon_days
    90
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="predict at every refresh")
    model: Literal["bgnbd", "mbgnbd", "pareto_nbd"] = Field(
        "bgnbd", description="purchase model: BG/NBD, MBG/NBD or Pareto/NBD"
    )
    time_unit: Literal["day", "week"] = Field(
        "week", description="unit the model is fitted in (frequency, recency and T)"
    )
    horizon_days: int = Field(
        90, ge=1, le=3650, description="horizon of expected_orders and repurchase_probability"
    )
    clv_months: int = Field(12, ge=1, le=120, description="horizon of predicted_clv, in months")
    discount_rate: float = Field(
        0.10, ge=0, lt=1, description="yearly discount rate of predicted_clv (0.10 = 10% a year)"
    )
    margin: float = Field(
        1.0, gt=0, le=1, description="share of spend kept as margin in predicted_clv (1 = revenue)"
    )
    next_order: Literal["model", "cycle"] = Field(
        "model",
        description="expected_next_order_date from the model or from the customer's own cycle",
    )
    vip_quantile: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="future_vip: predicted_clv at least this quantile of current VIPs' predicted_clv",
    )


class WorkspaceConfig(BaseModel):
    """Settings of one shop's workspace.

    >>> WorkspaceConfig(timezone="Asia/Seoul", currency="KRW").currency
    'KRW'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field("Asia/Seoul", description="IANA time zone the shop's dates are read in")
    currency: str = Field("KRW", description="ISO 4217 code of the shop's currency")
    shop_name: str = Field("", description="shown in reports and the dashboard")
    predictions: PredictionSettings = Field(
        default_factory=PredictionSettings, description="the [predictions] table"
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"timezone must be an IANA name such as 'Asia/Seoul' or 'UTC'; got {value!r}"
            ) from exc
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        code = value.upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError(
                f"currency must be a 3-letter ISO 4217 code such as 'KRW'; got {value!r}"
            )
        return code

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_toml(self) -> str:
        lines = ["# danggol workspace settings", "[workspace]"]
        for name, value in self.model_dump(exclude={"predictions"}).items():
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{name} = "{escaped}"')
        lines += ["", "# per-customer predictions made at every refresh (docs/predictions.md)"]
        lines.append("[predictions]")
        for name, value in self.predictions.model_dump().items():
            text = str(value).lower() if isinstance(value, bool) else repr(value)
            lines.append(f"{name} = {text}".replace("'", '"'))
        return "\n".join(lines) + "\n"


def read_config(path: Path) -> WorkspaceConfig:
    """Read ``danggol.toml``; a bad file raises ConfigError naming the file and the setting."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}. Fix the file or run 'danggol init' again."
        ) from exc
    try:
        return WorkspaceConfig(**data.get("workspace", {}), predictions=data.get("predictions", {}))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc
