"""Activation: segment exports for marketing tools, webhooks on segment changes, campaigns
with a holdout and their measured uplift, and the scheduled ingest → refresh → deliver run."""
