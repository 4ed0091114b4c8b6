"""Things every package of the project shares; today only the exception root."""
