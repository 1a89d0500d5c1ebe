"""Baselines for the foundation benchmark: the customer profile written by hand.

``profile_sql`` is the profile as one hand-made DuckDB SQL query; ``profile_pandas`` is the
same in idiomatic pandas (vectorised group-bys, no row loops). Both follow the field
meanings of ``danggol.profile``; the benchmark checks all three agree before timing counts.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

PURCHASE = ("paid", "partially_refunded")
REFUND = ("refunded", "partially_refunded")


def _col(name: str) -> str:
    import re

    return "events_" + re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def profile_sql(as_of: dt.date, event_names: list[str]) -> str:
    d = f"DATE '{as_of.isoformat()}'"
    counts = "".join(
        f",\n    count(*) FILTER (WHERE event = '{n}') AS {_col(n)}" for n in event_names
    )
    event_cols = "".join(f", coalesce(ev.{_col(n)}, 0) AS {_col(n)}" for n in event_names)
    return f"""
WITH o AS (SELECT * FROM orders WHERE order_date <= {d}),
os AS (
  SELECT customer_id,
    count(*) FILTER (WHERE status IN ('paid', 'partially_refunded')) AS number_of_orders,
    sum(total - coalesce(refunded_amount, 0))
      FILTER (WHERE status IN ('paid', 'partially_refunded')) AS amount_spent,
    min(order_date) FILTER (WHERE status IN ('paid', 'partially_refunded')) AS first_order_date,
    max(order_date) FILTER (WHERE status IN ('paid', 'partially_refunded')) AS last_order_date,
    count(*) FILTER (WHERE status IN ('refunded', 'partially_refunded')) AS refunds
  FROM o GROUP BY customer_id
),
pct AS (
  SELECT customer_id, 100 * percent_rank() OVER (ORDER BY amount_spent) AS amount_spent_percentile
  FROM os WHERE number_of_orders > 0
),
lines AS (
  SELECT i.product_id, i.category, i.quantity, o.customer_id
  FROM order_items i JOIN o USING (order_id)
  WHERE o.status IN ('paid', 'partially_refunded')
),
fav AS (
  SELECT customer_id, category AS favourite_category FROM (
    SELECT customer_id, category, sum(quantity) AS q FROM lines
    WHERE category IS NOT NULL GROUP BY customer_id, category
  ) QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY q DESC, category) = 1
),
li AS (
  SELECT customer_id, count(DISTINCT product_id) AS distinct_products,
         count(DISTINCT category) AS distinct_categories
  FROM lines GROUP BY customer_id
),
e AS (SELECT * FROM events WHERE event_date <= {d}),
ev AS (
  SELECT customer_id, min(event_date) AS first_event_date, max(event_date) AS last_event_date,
         count(*) AS events_total{counts}
  FROM e GROUP BY customer_id
),
c AS (SELECT * FROM customers WHERE signup_date IS NULL OR signup_date <= {d}),
ids AS (
  SELECT customer_id FROM c UNION SELECT customer_id FROM o UNION SELECT customer_id FROM e
)
SELECT ids.customer_id,
  c.customer_id IS NOT NULL AS known_customer,
  starts_with(ids.customer_id, 'guest:') AS guest,
  coalesce(os.number_of_orders, 0) AS number_of_orders,
  coalesce(os.amount_spent, 0) AS amount_spent,
  CASE WHEN os.number_of_orders > 0 THEN os.amount_spent / os.number_of_orders END AS aov,
  os.first_order_date, os.last_order_date,
  {d} - os.last_order_date AS days_since_last_order,
  CASE WHEN os.number_of_orders > 1
    THEN (os.last_order_date - os.first_order_date) / (os.number_of_orders - 1) END
    AS avg_days_between_orders,
  coalesce(os.refunds, 0) AS refunds,
  pct.amount_spent_percentile,
  fav.favourite_category,
  coalesce(li.distinct_products, 0) AS distinct_products,
  coalesce(li.distinct_categories, 0) AS distinct_categories,
  c.country, c.region, c.city, c.gender,
  date_part('year', {d}) - date_part('year', c.birth_date)
    - CASE WHEN strftime(c.birth_date, '%m%d') > strftime({d}, '%m%d') THEN 1 ELSE 0 END AS age,
  c.signup_date, c.signup_channel,
  CASE WHEN c.marketing_opt_in THEN 'subscribed' ELSE 'not_subscribed' END
    AS email_subscription_status,
  c.tags,
  ev.first_event_date, ev.last_event_date, coalesce(ev.events_total, 0) AS events_total
  {event_cols}
FROM ids
LEFT JOIN c USING (customer_id)
LEFT JOIN os USING (customer_id)
LEFT JOIN pct USING (customer_id)
LEFT JOIN fav USING (customer_id)
LEFT JOIN li USING (customer_id)
LEFT JOIN ev USING (customer_id)
"""


def profile_pandas(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    items: pd.DataFrame,
    events: pd.DataFrame,
    as_of: dt.date,
) -> pd.DataFrame:
    """The same profile in idiomatic pandas."""
    day = pd.Timestamp(as_of)
    o = orders[orders["order_date"] <= day]
    bought = o["status"].isin(PURCHASE)
    spent = np.where(bought, o["total"] - o["refunded_amount"].fillna(0), 0.0)
    os_ = (
        o.assign(_bought=bought, _spent=spent, _refund=o["status"].isin(REFUND))
        .groupby("customer_id")
        .agg(
            number_of_orders=("_bought", "sum"),
            amount_spent=("_spent", "sum"),
            refunds=("_refund", "sum"),
        )
    )
    dates = o[bought].groupby("customer_id")["order_date"].agg(["min", "max"])
    dates.columns = ["first_order_date", "last_order_date"]
    os_ = os_.join(dates)
    buyers = os_[os_["number_of_orders"] > 0]
    n = len(buyers)
    rank = buyers["amount_spent"].rank(method="min")
    os_["amount_spent_percentile"] = (rank - 1) / (n - 1) * 100 if n > 1 else 0.0

    lines = items.merge(o.loc[bought, ["order_id", "customer_id"]], on="order_id")
    per_cat = (
        lines.dropna(subset=["category"])
        .groupby(["customer_id", "category"], as_index=False)["quantity"]
        .sum()
        .sort_values(["customer_id", "quantity", "category"], ascending=[True, False, True])
        .drop_duplicates("customer_id")
        .set_index("customer_id")["category"]
        .rename("favourite_category")
    )
    li = lines.groupby("customer_id").agg(
        distinct_products=("product_id", "nunique"), distinct_categories=("category", "nunique")
    )

    e = events[events["event_date"] <= day]
    ev = e.groupby("customer_id")["event_date"].agg(["min", "max", "size"])
    ev.columns = ["first_event_date", "last_event_date", "events_total"]
    per_event = e.groupby(["customer_id", "event"]).size().unstack(fill_value=0)
    per_event.columns = [_col(c) for c in per_event.columns]
    ev = ev.join(per_event)

    c = customers[customers["signup_date"].isna() | (customers["signup_date"] <= day)]
    ids = pd.Index(
        pd.concat([c["customer_id"], o["customer_id"], e["customer_id"]]).unique(),
        name="customer_id",
    )
    out = pd.DataFrame(index=ids)
    out["known_customer"] = out.index.isin(c["customer_id"])
    out = out.join(os_).join(per_cat).join(li).join(ev)
    out = out.join(
        c.set_index("customer_id")[
            [
                "country",
                "region",
                "city",
                "gender",
                "birth_date",
                "signup_date",
                "signup_channel",
                "marketing_opt_in",
                "tags",
            ]
        ]
    )
    out["number_of_orders"] = out["number_of_orders"].fillna(0).astype("int64")
    out["amount_spent"] = out["amount_spent"].fillna(0.0)
    out["aov"] = out["amount_spent"] / out["number_of_orders"].where(out["number_of_orders"] > 0)
    out["days_since_last_order"] = (day - out["last_order_date"]).dt.days
    span = (out["last_order_date"] - out["first_order_date"]).dt.days
    out["avg_days_between_orders"] = span / (out["number_of_orders"] - 1).where(
        out["number_of_orders"] > 1
    )
    out["refunds"] = out["refunds"].fillna(0).astype("int64")
    for col in ["distinct_products", "distinct_categories", "events_total", *per_event.columns]:
        out[col] = out[col].fillna(0).astype("int64")
    birth = out["birth_date"]
    before = (birth.dt.month > day.month) | (
        (birth.dt.month == day.month) & (birth.dt.day > day.day)
    )
    out["age"] = day.year - birth.dt.year - before.astype("int64")
    out["email_subscription_status"] = np.where(
        out["marketing_opt_in"].fillna(False).astype(bool), "subscribed", "not_subscribed"
    )
    return out.drop(columns=["birth_date", "marketing_opt_in"]).reset_index()
