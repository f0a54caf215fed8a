"""The demo bundle: real public records served on a loopback HTTP server in the sources' own formats."""
