"""Integrations of the build-or-refit pipeline with other build flows (duck-typed)."""
