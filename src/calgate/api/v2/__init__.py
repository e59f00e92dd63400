"""Unipile API v2: a second wire format over the same services as v1 (routes under ``/v2``)."""
