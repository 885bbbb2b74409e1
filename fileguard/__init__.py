"""Guards on the files every command reads and writes: the bottom layer, importing no other package.

- `errors`: `UserError`, a user's mistake as one line `file: what was wrong` (exit status 2).
- `kinds`: what a path is (regular file, directory, device, FIFO, socket), after symlinks.
- `inputs`: reading regular files only, never blocking, never more than a size cap.
- `parsing`: `OneLineParser`, whose usage mistakes are one line and exit status 2.
- `outputs`: refusing output paths that are inputs, data, or not regular files; atomic writes.
"""
