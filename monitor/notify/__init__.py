"""Alerts: email and signed webhooks, delivered from the outbox with retries."""
