"""A static HTML portfolio report of the served marts: open index.html, no server needed."""
