"""Development tools, not the runtime proxy: the tiny CPU moshi upstream and the demo."""
