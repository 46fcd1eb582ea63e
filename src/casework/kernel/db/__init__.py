"""Database backends of Casework's own (Django's, with what the product needs added)."""
