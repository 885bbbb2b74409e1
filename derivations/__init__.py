"""derivations package of attnlab."""
