"""Monitoring: what the engine and the app report about themselves.

Later: AlertRule and Alert (drift, failed merges, slow operations), Webhook and Delivery
(signed, retried with backoff, logged), health checks and metrics fed by the engine's audit
log, and the live events sent to dashboards.
"""
