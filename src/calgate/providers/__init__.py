"""Calendar providers: one module each behind :class:`calgate.providers.base.Provider`."""
