"""接诉即办 dispatch engine: residents' requests routed, assigned, escalated, audited on Kafka."""

__version__ = "0.1.0"
