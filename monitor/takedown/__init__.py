"""From a confirmed match to a removed copy: re-reading copies for removal (recheck)."""
