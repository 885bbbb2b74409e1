"""models package of attnlab."""
