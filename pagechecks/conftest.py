"""Page checks run as their own pytest session (``make pagecheck``), after ``make book``."""
