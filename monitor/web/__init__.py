"""The desk: `monitor serve` (web app and JSON API) and its commands. The pages and the API call
the same functions as the CLI (monitor.triage, monitor.licence, monitor.store.*)."""
