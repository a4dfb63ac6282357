"""``dispatch bench``: throughput and latency beside their ceilings, measured in the same run."""
