"""Services: what routes call. They choose the provider and enforce cross-provider rules."""
