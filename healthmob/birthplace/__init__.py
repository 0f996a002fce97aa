"""Birthplace: who is foreign-born, since when and from where (the cohort account)."""
