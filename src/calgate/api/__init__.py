"""The HTTP layer: Unipile wire schemas, routes, the error handler."""
