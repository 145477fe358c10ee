"""Pages to clean text judged usable or not, and duplicates spotted: the rules, then the stage."""
