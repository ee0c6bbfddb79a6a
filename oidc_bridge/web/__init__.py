"""The only Flask code."""
