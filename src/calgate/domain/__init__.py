"""The provider-neutral calendar model: no HTTP, no SQL."""
