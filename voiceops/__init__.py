"""Things every package of the project shares: the exception root (``errors``), the spoken
vocabulary (``phrases``), the word tokeniser (``words``) and the typed records (``records``)."""
