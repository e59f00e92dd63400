"""calgate: a self-hosted calendar API server speaking the Unipile calendar API."""

__version__ = "0.1.0"
