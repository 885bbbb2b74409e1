"""report package of attnlab."""
