"""Workspace settings: ``danggol.toml`` as one pydantic model."""

from __future__ import annotations

import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from danggol.errors import ConfigError

CONFIG_FILE = "danggol.toml"
STORE_FILE = "store.duckdb"


class WorkspaceConfig(BaseModel):
    """Settings of one shop's workspace.

    >>> WorkspaceConfig(timezone="Asia/Seoul", currency="KRW").currency
    'KRW'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field("Asia/Seoul", description="IANA time zone the shop's dates are read in")
    currency: str = Field("KRW", description="ISO 4217 code of the shop's currency")
    shop_name: str = Field("", description="shown in reports and the dashboard")

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
        for name, value in self.model_dump().items():
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{name} = "{escaped}"')
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
        return WorkspaceConfig(**data.get("workspace", {}))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc
