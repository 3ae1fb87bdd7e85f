"""A user's own lab package, outside ferlens: a network (``nets``) and a dataset reader (``readers``)."""
