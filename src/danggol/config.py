"""Workspace settings: ``danggol.toml`` as one pydantic model."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import warnings
from pathlib import Path
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

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
    model: Literal["auto", "bgnbd", "mbgnbd", "pareto_nbd"] = Field(
        "auto",
        description="purchase model: auto (chosen by the shop's own backtest), BG/NBD, "
        "MBG/NBD or Pareto/NBD",
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
    penalizer_coef: float = Field(
        0.0,
        ge=0,
        le=10,
        description="penalty on the purchase and spend models' parameters (lifetimes' "
        "penalizer_coef; 0 = plain maximum likelihood)",
    )
    covariates: tuple[
        Literal["signup_channel", "region", "first_order_coupon", "first_order_channel"], ...
    ] = Field(
        (),
        description="customer attributes on the purchase and dropout rates of BG/NBD, MBG/NBD "
        "and Pareto/NBD (Fader & Hardie 2007); [] = none",
    )

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, values: object) -> object:
        # danggol.toml files written before 2026-11-23 carry vip_quantile: future_vip's VIP
        # range no longer uses it (it is the top n by predicted_clv, n = the VIPs)
        if isinstance(values, dict) and "vip_quantile" in values:
            warnings.warn(
                "[predictions] vip_quantile is no longer used (future_vip takes the n highest "
                "predicted_clv, n = the number of VIPs); remove it from danggol.toml",
                stacklevel=2,
            )
            values = {k: v for k, v in values.items() if k != "vip_quantile"}
        return values


class WorkspaceConfig(BaseModel):
    """Settings of one shop's workspace.

    >>> WorkspaceConfig(timezone="Asia/Seoul", currency="KRW").currency
    'KRW'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field("Asia/Seoul", description="IANA time zone the shop's dates are read in")
    currency: str = Field("KRW", description="ISO 4217 code of the shop's currency")
    shop_name: str = Field("", description="shown in reports and the dashboard")
    memory_limit: str = Field(
        "3GB",
        description="most memory the embedded engine may use before it spills to disk "
        "('3GB', '500MB'; '' = DuckDB's own default, 80% of RAM)",
    )
    backend: str = Field(
        "duckdb",
        description="engine the canonical tables are read from: 'duckdb' (the embedded store) "
        "or a URL such as pyspark://local[2] or postgres://user:${PGPASSWORD}@host/db "
        "(docs/backends.md)",
    )
    as_of: str = Field(
        "",
        description="the day (YYYY-MM-DD) commands, reports and the dashboard use when no "
        "--as-of is given, for a shop whose history has ended (the demo shop, a past export); "
        "'' = today in the shop's time zone",
    )
    guests: Literal["load", "quarantine"] = Field(
        "load",
        description="orders without a member id: 'load' them under a guest id (from the "
        "e-mail, else the phone, else the order) or 'quarantine' those with neither e-mail nor "
        "phone (docs/ingest.md)",
    )
    earliest_date: str = Field(
        "1990-01-01",
        description="order, event and signup times before this day (YYYY-MM-DD) are quarantined "
        "as implausible",
    )
    latest_date: str = Field(
        "",
        description="times after this day (YYYY-MM-DD) are quarantined as implausible; '' = one "
        "year after today",
    )
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

    @field_validator("as_of", "latest_date", "earliest_date")
    @classmethod
    def _iso_day(cls, value: str, info: ValidationInfo) -> str:
        text = value.strip()
        if text or info.field_name == "earliest_date":
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                blank = "" if info.field_name == "earliest_date" else ", or ''"
                raise ValueError(
                    f"{info.field_name} is a date such as '2025-06-30' (YYYY-MM-DD){blank}; "
                    f"got {value!r}"
                ) from None
        return text

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        code = value.upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError(
                f"currency must be a 3-letter ISO 4217 code such as 'KRW'; got {value!r}"
            )
        return code

    @field_validator("memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        text = value.strip().upper().replace(" ", "")
        if text and not re.fullmatch(r"\d+(\.\d+)?(KB|MB|GB|TB|KIB|MIB|GIB|TIB)", text):
            raise ValueError(
                f"memory_limit is a size such as '3GB' or '500MB' (or '' for DuckDB's default); "
                f"got {value!r}"
            )
        return text

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        # the engine table lives with the store; imported here, not at the top, so that this base
        # module does not load it (and Ibis) for a plain settings check
        from danggol.store.backends import backend_for

        value = value.strip()
        backend_for(value)  # ConfigError naming the engines danggol knows
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self) -> dt.date:
        """The default as-of day: ``as_of`` when set, else today in the shop's time zone."""
        if self.as_of:
            return dt.date.fromisoformat(self.as_of)
        return dt.datetime.now(self.zone).date()

    def plausible_dates(self) -> tuple[dt.date, dt.date]:
        """The days an order, event or signup time may fall on (``earliest_date`` through
        ``latest_date``, by default one year after today)."""
        earliest = dt.date.fromisoformat(self.earliest_date)
        if self.latest_date:
            return earliest, dt.date.fromisoformat(self.latest_date)
        today = dt.datetime.now(self.zone).date()
        return earliest, today.replace(year=today.year + 1, day=min(today.day, 28))

    def to_toml(self) -> str:
        """The settings as ``danggol.toml`` text, written by tomlkit (any text — quotes, line
        breaks, backslashes, 한글 — comes back the same through :func:`read_config`).

        >>> import tomllib
        >>> text = WorkspaceConfig(shop_name='a\\nb "c"').to_toml()
        >>> tomllib.loads(text)["workspace"]["shop_name"]
        'a\\nb "c"'
        """
        import tomlkit

        workspace = tomlkit.table()
        # settings left at their default are not written, so that an older danggol still
        # reads the file (the ingest checks' settings came later)
        later = {"guests", "earliest_date", "latest_date"} - self.model_fields_set
        workspace.update(self.model_dump(exclude={"predictions", *later}))
        predictions = tomlkit.table()
        predictions.update(self.predictions.model_dump())
        doc = tomlkit.document()
        doc.add(tomlkit.comment("danggol workspace settings"))
        doc.add("workspace", workspace)
        doc.add(tomlkit.nl())
        doc.add(
            tomlkit.comment("per-customer predictions made at every refresh (docs/predictions.md)")
        )
        doc.add("predictions", predictions)
        return tomlkit.dumps(doc)


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


#: the environment variable that sets the web token (it wins over ``[web] token``)
TOKEN_ENV_VAR = "DANGGOL_TOKEN"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class WebConfig(BaseModel):
    """The ``[web]`` section of ``danggol.toml``: who may use ``danggol serve``.

    >>> WebConfig(token="s3cret").personal_data_token
    True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str = Field("", description="access token of the API and the pages (or $DANGGOL_TOKEN)")
    personal_data_token: bool = Field(
        True,
        description="exports of personal data (name, email, phone), sorting by them and every "
        "change (saving, deleting, refresh) need the token even on 127.0.0.1, when a token is set",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="host names the server answers to beside 127.0.0.1, localhost, [::1] and "
        "the address it is bound to (a request with another Host header gets 400); "
        "['*'] turns the check off (behind a reverse proxy that checks it)",
    )
    max_body_bytes: int = Field(
        1 << 20, ge=1024, description="largest request body the server reads (else 413)"
    )


class WebhookConfig(BaseModel):
    """The ``[webhooks]`` section of ``danggol.toml``.

    >>> WebhookConfig().allow_private_urls
    False
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_private_urls: bool = Field(
        False,
        description="let webhooks go to loopback, private (10/8, 192.168/16 …), link-local "
        "(169.254/16, the cloud metadata address) and other non-public addresses",
    )


_Section = TypeVar("_Section", bound=BaseModel)


def read_section(path: Path, name: str, model: type[_Section]) -> _Section:
    """The ``[name]`` section of ``danggol.toml`` as ``model`` (its defaults when the file or
    the section is absent); a bad value raises ConfigError naming the file and the setting."""
    if not path.is_file():
        return model()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return model(**data.get(name, {}))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{name}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


def read_web_config(path: Path) -> WebConfig:
    """The ``[web]`` section of ``danggol.toml`` (defaults when the file or section is absent)."""
    return read_section(path, "web", WebConfig)


def web_access(host: str, web: WebConfig, env_token: str | None) -> tuple[str | None, str]:
    """(token, what it protects) for serving on ``host``: ``"all"`` (every page and API call)
    or ``"personal"`` (exports of name, email, phone only).

    On 127.0.0.1 the dashboard is open, except personal data when a token is set and
    ``personal_data_token``; on any other host a token is required for everything.

    >>> web_access("127.0.0.1", WebConfig(), None)
    (None, 'all')
    >>> web_access("0.0.0.0", WebConfig(token="t"), None)
    ('t', 'all')
    """
    token = env_token or web.token or None
    if host not in LOOPBACK_HOSTS:
        if not token:
            raise ConfigError(
                f"serving on {host} (not 127.0.0.1) needs an access token: set "
                f"${TOKEN_ENV_VAR} or 'token' in the [web] section of danggol.toml"
            )
        return token, "all"
    if token and web.personal_data_token:
        return token, "personal"
    return None, "all"
