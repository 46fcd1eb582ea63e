"""Casework: Customer Process Management."""

__version__ = "0.1.0"
