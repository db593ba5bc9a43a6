"""Connectors: what the server pulls from the platforms — the org chart from DingTalk or
Feishu (org_sync.py), signed deals from Salesforce (salesforce.py).  docs/connectors.md."""
