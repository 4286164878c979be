"""The monitor's errors: one tree, caught once at the edge (the command line prints one line).

Every error a user can cause or fix (a config key, a database URL, a file, an unreachable
feed) is a `MonitorError`; its message is phrased for the user and names the thing at fault.
Anything else escaping a command is a bug and keeps its traceback.

    MonitorError
    ├── ConfigError          the configuration (file, environment, a secret it names)
    ├── DatabaseError        the database cannot be used as it is (URL, driver, schema, server)
    ├── InputError           a file or argument given on the command line cannot be used
    ├── FetchError           a URL could not be fetched (monitor.fetch: BlockedError,
    │                        FetchTimeout, HTTPStatusError, TooLargeError)
    ├── FeedError            a body that is not a feed we can read (monitor.fetch)
    └── DeliveryError        an alert could not be delivered (monitor.notify.senders)

`FetchError`, `FeedError` and `DeliveryError` live beside the code that raises them; the
command line imports only this module, so catching `MonitorError` costs no start-up time.

This module imports nothing of the monitor's, so every module can import it.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class: a problem the user can act on; `str(error)` is the one line to show."""

    exit_code = 2  # bad input (config, arguments, database): see the README's exit statuses


class ConfigError(MonitorError):
    """A configuration problem, phrased for the user: which key, what is wrong."""


class DatabaseError(MonitorError):
    """The database cannot be used as it is (unreachable, not migrated, bad URL, no driver)."""


class InputError(MonitorError):
    """A file or argument given on the command line cannot be used (missing, unwritable …)."""
