"""simulate package of attnlab."""
