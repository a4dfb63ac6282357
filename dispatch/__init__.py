"""接诉即办 dispatch engine: residents' requests routed, assigned, escalated and audited on Kafka."""

__version__ = "0.1.0"
