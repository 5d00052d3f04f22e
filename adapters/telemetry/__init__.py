"""Telemetry on the standard library: JSON log lines, the per-request log context, workflow
events, scrubbing, and the quota guard in front of an error reporter. No SDK is imported here:
the Rollbar and Logtail adapters (adapters/rollbar, adapters/logtail) import theirs lazily."""
