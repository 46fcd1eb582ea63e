"""Tiny shared vocabulary: actors, domain errors, the clock. Imports nothing of ours."""
